from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = "Support: customer answers and hand-off"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the job kinds (support_embed, support_train) so the web process can create them.
        from support import tasks  # noqa: F401
        from support.services import demo  # noqa: F401 - registers the demo knowledge with seed_demo
