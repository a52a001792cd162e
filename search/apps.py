from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the reindex job kind (the web process creates jobs the worker runs) and the catalogue signals.
        from search import demo, receivers, tasks  # noqa: F401

        receivers.connect()
