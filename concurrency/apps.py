from django.apps import AppConfig


class ConcurrencyConfig(AppConfig):
    name = "concurrency"
    verbose_name = "Concurrency limits"
    default_auto_field = "django.db.models.BigAutoField"
