"""Create a store (the tenant) and, optionally, give a user a role in it.

    python manage.py create_store --slug grocery --name "Grocery Co" --currency USD --owner alice
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ecomops.models import Role, Store
from ecomops.services.members import membership_grant


class Command(BaseCommand):
    help = "Create a store and optionally make existing users its owner/manager/analyst."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--currency", default="USD", help="ISO 4217 code")
        parser.add_argument("--timezone", default="UTC", help="IANA time zone, e.g. Europe/Berlin")
        parser.add_argument("--owner", action="append", default=[], help="username (repeatable)")
        parser.add_argument("--manager", action="append", default=[], help="username (repeatable)")
        parser.add_argument("--analyst", action="append", default=[], help="username (repeatable)")

    def handle(self, *args, **opts):
        if Store.objects.filter(slug=opts["slug"]).exists():
            raise CommandError(f"A store with slug {opts['slug']!r} already exists.")
        store = Store(
            slug=opts["slug"], name=opts["name"], currency=opts["currency"].upper(), timezone=opts["timezone"]
        )
        try:
            store.full_clean()
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        User = get_user_model()
        grants = [(name, Role.OWNER) for name in opts["owner"]]
        grants += [(name, Role.MANAGER) for name in opts["manager"]]
        grants += [(name, Role.ANALYST) for name in opts["analyst"]]
        users = {}
        for username, _role in grants:
            user = User.objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"No user named {username!r} (create it with createsuperuser or the admin).")
            users[username] = user
        with transaction.atomic():
            store.save()
            for username, role in grants:
                membership_grant(store=store, user=users[username], role=role)
        self.stdout.write(self.style.SUCCESS(f"Created store {store.slug!r} ({store.name}) with {len(grants)} member(s)."))
