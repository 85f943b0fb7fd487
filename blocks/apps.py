from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_system_blocks(sender, **kwargs):
    from .registry import install_system_blocks

    install_system_blocks()


class BlocksConfig(AppConfig):
    name = "blocks"
    verbose_name = "Blocks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # After every migration the system block types (secret, webhook, notification
        # targets) exist and match this version.
        post_migrate.connect(_install_system_blocks, sender=self)
