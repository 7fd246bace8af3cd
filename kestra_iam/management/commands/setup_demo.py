"""`make run`'s set-up: a demo admin and the tenant `main`. Safe to run again."""

import secrets

from django.core.management.base import BaseCommand
from django.db import transaction

from kestra_iam.models import Tenant, User

DEMO_ADMIN = "admin"
DEMO_TENANT = "main"


class Command(BaseCommand):
    help = "Create the demo admin user and the tenant 'main' if they do not exist yet."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        tenant, created = Tenant.objects.get_or_create(id=DEMO_TENANT, defaults={"name": "Main"})
        self.stdout.write(f"Tenant '{tenant.id}' {'created' if created else 'exists'}.")

        if User.objects.filter(user_name_key=DEMO_ADMIN).exists():
            self.stdout.write(
                f"Admin user '{DEMO_ADMIN}' exists; its password was printed when it was created. "
                f"Reset it with: .venv/bin/python manage.py changepassword {DEMO_ADMIN}"
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(DEMO_ADMIN, password, display_name="Demo admin")
        self.stdout.write(
            self.style.SUCCESS(
                f"Admin user created. Log in at http://127.0.0.1:8000/admin/ with\n"
                f"    login:    {DEMO_ADMIN}\n"
                f"    password: {password}\n"
                "(shown this once; reset with: "
                f".venv/bin/python manage.py changepassword {DEMO_ADMIN})"
            )
        )
