from django.apps import AppConfig


class CopywriterConfig(AppConfig):
    name = "copywriter"
    verbose_name = "Copywriter: grounded product descriptions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from copywriter import tasks  # noqa: F401  (registers the job kinds in the web process)
        from copywriter.services import demo  # noqa: F401 - marks seed_demo's template copy as machine-written
