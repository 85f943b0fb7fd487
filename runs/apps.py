from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Flows and runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .live import on_flow_run_states_written
        from .signals import flow_run_states_written

        # A flow-run page open in a browser hears the run's new states (runs.live).
        flow_run_states_written.connect(on_flow_run_states_written, dispatch_uid="runs.live")
