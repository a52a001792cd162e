from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the forecast job kind, so the web process can create jobs the worker will run.
        from ecomops.services.demo_data import register_demo_seeder
        from inventory import tasks  # noqa: F401
        from inventory.demo import seed_inventory_demo

        register_demo_seeder(seed_inventory_demo, name="inventory")
