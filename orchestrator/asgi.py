"""The ASGI application Daphne serves: HTTP (API, dashboard, static files) and websockets."""

import asyncio
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.base")

from django.core.asgi import get_asgi_application  # noqa: E402

django_app = get_asgi_application()

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
