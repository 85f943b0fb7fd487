import sys

from django.apps import AppConfig

# Django REST framework imports `requests` (for its test client) and `pygments` (to colour code
# in the browsable API's view descriptions) when they are installed. The server uses neither
# through DRF, and the two cost every server process about 6 MB (measured: 65.5 -> 60.2 MB of
# anonymous memory after start-up). Only notification delivery needs `requests`, and it
# imports it when it first sends.
DRF_OPTIONAL_IMPORTS = ("requests", "pygments")


def import_rest_framework_without_extras() -> None:
    """Import DRF's compatibility module as though its optional packages were absent; packages
    already imported (a test run's, say) are left to it."""
    hidden = [name for name in DRF_OPTIONAL_IMPORTS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # `import name` raises ImportError
    try:
        import rest_framework.compat  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]


import_rest_framework_without_extras()


class OrchestratorConfig(AppConfig):
    name = "orchestrator"
    verbose_name = "Orchestrator"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.backends.signals import connection_created

        from orchestrator.lib import pg_timestamps

        connection_created.connect(pg_timestamps.install, dispatch_uid="orchestrator.pg_timestamps")
        if getattr(settings, "DATABASE_ECHO", False):
            # PREFECT_API_DATABASE_ECHO: log every statement, not only in DEBUG.
            def echo(sender, connection, **kwargs):
                connection.force_debug_cursor = True

            connection_created.connect(echo, weak=False)
