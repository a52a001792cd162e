"""Create the development superuser if it does not exist yet (`make run` calls it; an existing user is left as is).

    python manage.py ensure_admin --username ops --password ops-pass-2026
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a superuser with this username and password unless a user with that username exists."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)

    def handle(self, *args, username: str, password: str, **opts):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"user {username!r} exists; left unchanged")
            return
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(self.style.SUCCESS(f"created superuser {username!r}"))
