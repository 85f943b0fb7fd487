from django.apps import AppConfig


class VariablesConfig(AppConfig):
    name = "variables"
    default_auto_field = "django.db.models.BigAutoField"
