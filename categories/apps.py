from django.apps import AppConfig


class CategoriesConfig(AppConfig):
    name = "categories"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the re-score job kind, so the web process can create jobs the worker will run.
        from categories import tasks  # noqa: F401
