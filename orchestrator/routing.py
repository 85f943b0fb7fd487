"""Websocket routes."""

from django.urls import path, re_path

from events.consumers import EventsInConsumer, EventsOutConsumer
from orchestrator.sockets import RefuseSocket
from runs.consumers import LogsOutConsumer, RunLogsConsumer

websocket_urlpatterns = [
    path("api/events/in", EventsInConsumer.as_asgi()),
    path("api/events/out", EventsOutConsumer.as_asgi()),
    path("api/logs/out", LogsOutConsumer.as_asgi()),
    # The dashboard's flow-run and task-run pages follow their run (runs.consumers).
    path("ws/flow-runs/<uuid:pk>/logs", RunLogsConsumer.as_asgi()),
    # Workers fall back to REST heartbeats when their channel is refused.
    re_path(r"^api/work_pools/[^/]+/workers/connect$", RefuseSocket.as_asgi()),
    re_path(r"^.*$", RefuseSocket.as_asgi()),
]
