"""The ASGI application Daphne serves: HTTP (API, dashboard, static files) and websockets."""

import asyncio
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.base")

import django  # noqa: E402
from asgiref.sync import sync_to_async  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402

django.setup(set_prefix=False)


class OneTripASGIHandler(ASGIHandler):
    """Django's ASGI handler, with each request's middleware and view run in a single trip to
    the thread that runs synchronous code.

    Our views and Django's middleware are synchronous. The stock handler builds an async
    middleware chain, and every middleware's process_request and process_response then makes
    its own trip between the event loop and that thread: about a dozen thread hand-offs per
    API call, which profiling showed costing more than the view itself. Here the chain is
    built synchronously and entered once.
    """

    def __init__(self):
        super().__init__()
        self.load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


django_app = OneTripASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from orchestrator.channels import bind_loop  # noqa: E402
from orchestrator.routing import websocket_urlpatterns  # noqa: E402

router = ProtocolTypeRouter(
    {
        "http": ASGIStaticFilesHandler(django_app),
        "websocket": URLRouter(websocket_urlpatterns),
    }
)


async def application(scope, receive, send):
    # Broadcasts from request threads and services are handed to this loop.
    bind_loop(asyncio.get_running_loop())
    return await router(scope, receive, send)
