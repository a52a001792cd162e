from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the training job kind, so the web process can create jobs the worker will run.
        from recommender import tasks  # noqa: F401
