"""The domain's receivers, connected once from `KestraIamConfig.ready`; each guards, then acts.

- A new tenant gets Kestra's managed roles, whoever saves it — `tenant create`, the admin,
  `make run`, the shell — so that "every tenant has Admin, Developer, Editor, Launcher and
  Viewer" holds without each caller remembering it.
- A SQLite database file is made readable by its owner only, at each process's first
  connection: it holds sessions and token digests, and SQLite creates it with the umask.
"""

import os
import stat

from django.db.backends.signals import connection_created
from django.db.models.signals import post_save
from django.dispatch import receiver

from kestra_iam.models import Tenant
from kestra_iam.rbac.managed_roles import managed_roles_create


@receiver(post_save, sender=Tenant, dispatch_uid="kestra_iam_managed_roles")
def give_a_new_tenant_its_managed_roles(sender, instance, created, raw, **kwargs):
    """Fixture loads (`raw`) and updates create nothing."""
    if created and not raw:
        managed_roles_create(tenant=instance)


@receiver(connection_created, dispatch_uid="kestra_iam_private_sqlite_file")
def keep_a_sqlite_file_private(sender, connection, **kwargs):
    """Before anything is written through the connection; SQLite gives its journal and WAL
    files the database file's mode, so they follow."""
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict["NAME"])
    if name.startswith(("file:", ":memory:")) or not os.path.isfile(name):
        return  # in memory (the test databases), or not created yet
    mode = stat.S_IMODE(os.stat(name).st_mode)
    if mode & 0o077:
        os.chmod(name, mode & 0o700)
