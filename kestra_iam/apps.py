from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class KestraIamConfig(AppConfig):
    default = True
    name = "kestra_iam"
    verbose_name = "Kestra IAM"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from kestra_iam import checks, signals  # noqa: F401  (registers, connects)
        from kestra_iam.db import piggyback

        request_finished.connect(piggyback.discard_leftovers, dispatch_uid="piggyback-leftovers")


class KestraAdminConfig(admin_apps.AdminConfig):
    """Makes `django.contrib.admin.site` our sectioned Kestra admin site."""

    default = False
    default_site = "kestra_iam.admin_site.KestraAdminSite"
