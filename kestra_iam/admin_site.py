"""The admin site: Kestra's navigation (IAM, Tenants) over the models of several apps."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse


@dataclass(frozen=True)
class Section:
    slug: str
    name: str
    models: tuple[str, ...]  # "app_label.ModelName", in display order
    # Menu entries named otherwise than the model's plural: "Provisioning" is the menu's word,
    # while lists and actions count "3 provisioning integrations".
    labels: tuple[tuple[str, str], ...] = ()


SECTIONS = (
    Section(
        "iam",
        "IAM",
        (
            "kestra_iam.User",
            "kestra_iam.TenantAccess",
            "kestra_iam.Group",
            "kestra_iam.GroupMembership",
            "kestra_iam.Role",
            "kestra_iam.Binding",
            "kestra_iam.ServiceAccount",
            "provisioning.ProvisioningIntegration",
        ),
        labels=(
            ("kestra_iam.TenantAccess", "Profiles per tenant"),
            ("provisioning.ProvisioningIntegration", "Provisioning"),
        ),
    ),
    Section("tenants", "Tenants", ("kestra_iam.Tenant",)),
    Section("audit", "Audit", ("kestra_iam.AuditEvent",)),
)


def section_of(opts) -> Section | None:
    """The section a model's pages belong to, if any."""
    key = f"{opts.app_label}.{opts.object_name}"
    return next((section for section in SECTIONS if key in section.models), None)


class KestraAdminSite(admin.AdminSite):
    """Groups registered models into Kestra's sections instead of one block per Django app.

    Apps keep their real labels; only the navigation is regrouped. Models that belong to no
    section stay under their app, after the sections.
    """

    site_header = "Kestra Administration"
    site_title = "Kestra Administration"
    index_title = "Administration"

    def has_permission(self, request: HttpRequest) -> bool:
        """The site administrator, and anyone who administers something in a tenant where
        their access is active (`kestra_iam.admin_scope`); Django's staff flag grants nothing
        by itself."""
        from kestra_iam.admin_scope import scope_of  # the admin's models load first

        scope = scope_of(request)
        return scope.site_admin or bool(scope.tenant_ids)

    def get_urls(self):
        return [
            path("section/<slug:slug>/", self.admin_view(self.section_view), name="section"),
            path("access/check/", self.admin_view(self.access_check_view), name="access_check"),
            *super().get_urls(),
        ]

    def app_index(self, request: HttpRequest, app_label: str, extra_context=None):
        """An app whose models all sit in sections has no page of its own: its models are
        spread over several sections, which Django's app page would show under the first one's
        name. Its breadcrumbs and URLs lead to the sections instead; this sends old links home."""
        models = [model for model in self._registry if model._meta.app_label == app_label]
        if models and all(section_of(model._meta) for model in models):
            return HttpResponseRedirect(reverse(f"{self.name}:index"))
        return super().app_index(request, app_label, extra_context)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        apps = super().get_app_list(request, app_label)
        by_key = {
            f"{app['app_label']}.{model['object_name']}": (app, model)
            for app in apps
            for model in app["models"]
        }
        placed: set[str] = set()
        sections = []
        for section in SECTIONS:
            models = []
            for key in section.models:
                if key in by_key:
                    model = by_key[key][1]
                    models.append({**model, "name": dict(section.labels).get(key, model["name"])})
                    placed.add(key)
            if models and section.slug == "iam" and self._may_check_access(request):
                models.append(self._check_access_entry())
            if models:
                sections.append(self._section_dict(section, models))
        for app in apps:
            rest = [
                m for m in app["models"] if f"{app['app_label']}.{m['object_name']}" not in placed
            ]
            if rest:
                sections.append({**app, "models": rest})
        return sections

    def _may_check_access(self, request: HttpRequest) -> bool:
        from kestra_iam.admin_access import check_access_tenants
        from kestra_iam.admin_scope import scope_of

        return scope_of(request).site_admin or check_access_tenants(request).exists()

    def access_check_view(self, request: HttpRequest) -> TemplateResponse:
        from kestra_iam.admin_access import access_check_view  # the admin's models load first

        if not self._may_check_access(request):
            raise PermissionDenied
        request.current_app = self.name
        return access_check_view(request)

    def section_view(self, request: HttpRequest, slug: str) -> TemplateResponse:
        app_list = [a for a in self.get_app_list(request) if a.get("section") == slug]
        if not app_list:
            raise Http404("No such section.")
        context = {
            **self.each_context(request),
            "title": app_list[0]["name"],
            "subtitle": None,
            "app_list": app_list,
            "app_label": slug,
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/app_index.html", context)

    def _check_access_entry(self) -> dict:
        """The "Check access" page, listed with the IAM models (it has no model of its own)."""
        return {
            "name": "Check access",
            "object_name": "CheckAccess",
            "admin_url": reverse(f"{self.name}:access_check"),
            "add_url": None,
            "view_only": True,
            "perms": {"view": True},
        }

    def _section_dict(self, section: Section, models: list[dict]) -> dict:
        return {
            "name": section.name,
            "app_label": section.slug,
            "section": section.slug,
            "app_url": reverse(f"{self.name}:section", kwargs={"slug": section.slug}),
            "has_module_perms": True,
            "models": models,
        }
