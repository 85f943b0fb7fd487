from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from runs.signals import flow_run_states_written

        from .enqueue import on_flow_run_states_written

        # Deliveries are written in the transaction that writes the states.
        flow_run_states_written.connect(on_flow_run_states_written, dispatch_uid="notifications.enqueue")
