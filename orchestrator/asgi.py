"""The ASGI application Daphne serves: HTTP (API, dashboard, static files) and websockets."""

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.base")

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core import signals  # noqa: E402
from django.core.exceptions import RequestAborted  # noqa: E402
from django.core.handlers.asgi import ASGIHandler, get_script_prefix  # noqa: E402
from django.http import FileResponse  # noqa: E402
from django.urls import set_script_prefix  # noqa: E402

django.setup(set_prefix=False)


class OneTripASGIHandler(ASGIHandler):
    """Django's ASGI handler, with each request handled in one trip to a fixed pool of threads,
    the way a threaded WSGI server handles it.

    Our views and Django's middleware are synchronous. The stock handler builds an async
    middleware chain whose every step makes its own trip between the event loop and a thread,
    starts a new thread for each request (one per request context), and makes two more trips
    for the request_started and request_finished signals; with each request in a fresh context
    it also opens (and closes) a new database connection every time. Profiling showed that
    plumbing costing about as much as the views. Here a request is read on the event loop, then
    signalled, routed, answered and closed on one of ORCHESTRATOR_SERVER_THREADS long-lived
    threads, each keeping its own database connection between requests (CONN_MAX_AGE applies
    as under WSGI), and the answer is written back from the event loop.

    Streaming responses (log downloads) are produced by async iterators and are sent by the
    stock code, then closed on the pool.
    """

    def __init__(self):
        super().__init__()
        self.load_middleware(is_async=False)
        self.executor = ThreadPoolExecutor(
            max_workers=settings.ORCHESTRATOR["SERVER_THREADS"], thread_name_prefix="request"
        )

    async def handle(self, scope, receive, send):
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        loop = asyncio.get_running_loop()
        try:
            response = await loop.run_in_executor(self.executor, self.respond, scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:
                    await loop.run_in_executor(self.executor, response.close)
        finally:
            body_file.close()

    def respond(self, scope, body_file):
        """The response to one request, computed on a pool thread. A response with its whole
        body in hand is closed here (request_finished: the thread's connections are released)
        before it is sent."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if not response.streaming:
            response.close()
        return response

    @staticmethod
    def response_start(response) -> dict:
        """The ASGI message that starts `response`: its status and headers, cookies included,
        encoded as the stock send_response encodes them."""
        headers = [
            (
                header.encode("ascii") if isinstance(header, str) else bytes(header),
                value.encode("latin1") if isinstance(value, str) else bytes(value),
            )
            for header, value in response.items()
        ]
        headers.extend((b"Set-Cookie", c.output(header="").encode("ascii").strip()) for c in response.cookies.values())
        return {"type": "http.response.start", "status": response.status_code, "headers": headers}


django_app = OneTripASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from orchestrator.channels import bind_loop  # noqa: E402
from orchestrator.routing import websocket_urlpatterns  # noqa: E402

static_files = ASGIStaticFilesHandler(django_app)
router = ProtocolTypeRouter(
    {
        "http": static_files,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)


async def application(scope, receive, send):
    # Broadcasts from request threads and services are handed to this loop.
    bind_loop(asyncio.get_running_loop())
    return await router(scope, receive, send)


def answered_on_pool(scope) -> bool:
    """Whether the server may hand this request straight to django_app.respond (see
    orchestrator.serving): any HTTP request but a static file's."""
    return scope["type"] == "http" and not scope["path"].startswith(static_files.base_url.path)
