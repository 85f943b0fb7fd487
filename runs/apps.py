from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Flows and runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .live import on_flow_run_states_written
        from .signals import flow_run_states_written

        # A flow-run page open in a browser hears the run's new states (runs.live).
        flow_run_states_written.connect(on_flow_run_states_written, dispatch_uid="runs.live")
        # The triggers behind counts by state type, after every migration and flush (runs.counts).
        post_migrate.connect(_install_counts, sender=self, dispatch_uid="runs.counts")


def _install_counts(sender, using="default", **kwargs) -> None:
    from django.db import connections

    from . import counts

    if using == "default" and "runs_flowruncount" in connections[using].introspection.table_names():
        counts.install()
