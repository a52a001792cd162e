"""manage.py seed_demo: a deterministic demo store (catalog, customers, a year of sessions and orders).

    manage.py seed_demo --store demo --seed 42 --user demo --password demo-pass-2026
    manage.py seed_demo --if-empty ...          # do nothing when any store exists (what `make run` uses)
    manage.py seed_demo --replace ...           # delete the existing demo store of that slug first
    manage.py seed_demo --products 20 --customers 50 --days 14 --sessions-per-day 10 --end-date 2026-03-31

The same seed, size knobs and --end-date give the same data. Apps add their own demo rows through
`ecomops.services.demo_data.register_demo_seeder` (see that module's docstring).
"""

from __future__ import annotations

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from ecomops.models import Store
from ecomops.services.demo_data import (
    DEMO_OPS_PASSWORD,
    DEMO_OPS_USER,
    DemoSize,
    demo_ops_user_ensure,
    demo_store_delete,
    demo_store_seed,
    demo_user_ensure,
)


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


class Command(BaseCommand):
    help = "Generate a deterministic demo store with a year of plausible activity, and a demo owner."

    def add_arguments(self, parser):
        parser.add_argument("--store", default="demo", help="Slug of the demo store (default: demo)")
        parser.add_argument("--name", default="Harbor & Pine", help="Display name of the demo store")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when any store exists")
        parser.add_argument("--replace", action="store_true", help="Delete an existing demo store with this slug first")
        parser.add_argument("--user", default=None, help="Username of the demo owner (created if missing)")
        parser.add_argument("--password", default=None, help="Password for the demo owner")
        parser.add_argument("--ops-user", default=DEMO_OPS_USER,
                            help="Staff login for /admin/, created with the demo login (--user); '' for none")
        parser.add_argument("--ops-password", default=DEMO_OPS_PASSWORD, help="Password for the ops login")
        parser.add_argument("--products", type=_positive_int, default=DemoSize.products)
        parser.add_argument("--customers", type=_positive_int, default=DemoSize.customers)
        parser.add_argument("--days", type=_positive_int, default=DemoSize.days, help="Days of history")
        parser.add_argument("--sessions-per-day", type=float, default=DemoSize.sessions_per_day,
                            help="Average sessions per day before weekly/seasonal factors")
        parser.add_argument("--end-date", type=date.fromisoformat, default=None,
                            help="Last day of history, YYYY-MM-DD (default: today in the store's time zone)")
        parser.add_argument("--timezone", default="Europe/Berlin")
        parser.add_argument("--currency", default="EUR")
        parser.add_argument("--no-extras", action="store_true", help="Skip the apps' registered demo seeders")
        parser.add_argument("--strict", action="store_true", help="Fail when an app's demo seeder fails")

    def handle(self, *args, **opts):
        slug = opts["store"]
        if opts["if_empty"] and Store.objects.exists():
            self.stdout.write("A store already exists; --if-empty: nothing to do.")
            return
        if opts["sessions_per_day"] <= 0:
            raise CommandError("--sessions-per-day must be positive.")
        existing = Store.objects.filter(slug=slug).first()
        if existing is not None:
            if not opts["replace"]:
                raise CommandError(f"A store with the slug {slug!r} already exists. Use --replace to rebuild it.")
            if not existing.is_demo:
                raise CommandError(f"The store {slug!r} holds real data (is_demo is false); refusing to replace it.")
            self.stdout.write(f"Deleting the existing demo store {slug!r} …")
            demo_store_delete(existing)

        show = opts["verbosity"] > 0

        def progress(iterable, desc, total):
            return tqdm(iterable, desc=f"{desc:>12}", total=total, unit="", disable=not show, leave=False,
                        file=self.stderr._out)

        started = time.monotonic()
        size = DemoSize(products=opts["products"], customers=opts["customers"], days=opts["days"],
                        sessions_per_day=opts["sessions_per_day"])
        try:
            result = demo_store_seed(
                slug=slug, seed=opts["seed"], size=size, name=opts["name"], currency=opts["currency"].upper(),
                tz_name=opts["timezone"], end_date=opts["end_date"], progress=progress,
                run_extras=not opts["no_extras"], strict_extras=opts["strict"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if opts["user"]:
            with transaction.atomic():
                demo_user_ensure(store=result.store, username=opts["user"], password=opts["password"])
                if opts["ops_user"]:
                    demo_ops_user_ensure(username=opts["ops_user"], password=opts["ops_password"])
        elapsed = time.monotonic() - started

        self.stdout.write(self.style.SUCCESS(f"Demo store {slug!r} ({result.store.name}) seeded in {elapsed:.1f} s:"))
        for label, value in (
            ("products", result.products), ("customers", result.customers), ("sessions", result.sessions),
            ("events", result.events), ("orders", result.orders), ("order lines", result.order_lines),
            ("rolled-up days", result.rollup.get("days", 0)),
        ):
            self.stdout.write(f"  {label:<15} {value:>9,}")
        for name, outcome in result.extras.items():
            style = self.style.SUCCESS if outcome == "ok" else self.style.WARNING
            self.stdout.write(style(f"  extra seeder {name}: {outcome}"))
        if opts["user"]:
            self.stdout.write(f"  demo login      {opts['user']} (owner of {slug!r})")
            if opts["ops_user"]:
                self.stdout.write(f"  admin login     {opts['ops_user']} (staff, /admin/)")
