from django.apps import AppConfig


class NetworkConfig(AppConfig):
    name = "network"
    verbose_name = "network: 5G link health"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from network import tasks  # noqa: F401  (registers the celery tasks in every process)
        from network.services import demo  # noqa: F401  (registers the demo seeder when the hook exists)
