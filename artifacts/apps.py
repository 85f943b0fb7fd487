from django.apps import AppConfig


class ArtifactsConfig(AppConfig):
    name = "artifacts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from runs.signals import flow_runs_deleted

        from .receivers import delete_artifacts_of_deleted_flow_runs

        flow_runs_deleted.connect(delete_artifacts_of_deleted_flow_runs, dispatch_uid="artifacts.flow_runs_deleted")
