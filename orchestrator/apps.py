from django.apps import AppConfig

from orchestrator import lean

# DRF imports `requests` (for its test client) and `pygments` (to colour code in the browsable
# API's view descriptions) when they are installed; the server uses neither through DRF, and
# the two cost every server process about 6 MB (anonymous memory after start-up 65.5 -> 60.2 MB).
lean.import_without("rest_framework.compat", ("requests", "pygments"))


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
