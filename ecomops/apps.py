from django.apps import AppConfig


class EcomopsConfig(AppConfig):
    name = "ecomops"
    verbose_name = "ecomops: merchant domain"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the job kinds, so the web process can create jobs the worker will run.
        from ecomops import receivers, tasks  # noqa: F401

        receivers.connect()  # sockets close when a membership ends or its session logs out
