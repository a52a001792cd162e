from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the forecast job kind, so the web process can create jobs the worker will run.
        from inventory import tasks  # noqa: F401
