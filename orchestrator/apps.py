from django.apps import AppConfig


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
