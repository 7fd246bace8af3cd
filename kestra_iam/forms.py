"""Admin forms for the IAM domain."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.html import format_html, format_html_join

from kestra_iam.models import PROFILE_FIELDS, Role, Tenant, TenantAccess, User, UserValue
from kestra_iam.permissions import (
    NAMESPACED_RESOURCES,
    Action,
    Resource,
    permission_pairs,
    permissions_from_pairs,
)
from kestra_iam.profiles import validate_primary_tenant


class PermissionGrid(forms.CheckboxSelectMultiple):
    """Resources down, actions across: one row per resource, a checkbox per action, each
    labelled for screen readers ("Users: Create") — instead of 44 checkboxes in a column."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(value or [])
        header = format_html_join(
            "", '<th scope="col">{}</th>', ((action.label,) for action in Action)
        )
        sections = format_html_join(
            "",
            '<tbody><tr><th colspan="{}" scope="rowgroup" class="permission-scope">{}</th></tr>'
            "{}</tbody>",
            (
                (len(Action) + 1, title, self._rows(name, chosen, resources))
                for title, resources in (
                    (
                        "In a namespace (a binding on one grants it there and below)",
                        [r for r in Resource if r in NAMESPACED_RESOURCES],
                    ),
                    (
                        "The tenant as a whole (only a tenant-wide binding grants it)",
                        [r for r in Resource if r not in NAMESPACED_RESOURCES],
                    ),
                )
            ),
        )
        return format_html(
            '<table class="permission-grid"><thead><tr><td></td>{}</tr></thead>{}</table>',
            header,
            sections,
        )

    @staticmethod
    def _rows(name: str, chosen: set, resources: list[Resource]):
        return format_html_join(
            "",
            '<tr><th scope="row">{}</th>{}</tr>',
            (
                (
                    resource.label,
                    format_html_join(
                        "",
                        '<td><input type="checkbox" name="{}" value="{}" id="id_{}_{}" '
                        'aria-label="{}: {}"{}></td>',
                        (
                            (
                                name,
                                f"{resource}:{action}",
                                name,
                                f"{resource}_{action}".lower(),
                                resource.label,
                                action.label,
                                " checked" if f"{resource}:{action}" in chosen else "",
                            )
                            for action in Action
                        ),
                    ),
                )
                for resource in resources
            ),
        )


PERMISSION_CHOICES = [
    (f"{resource}:{action}", f"{resource.label}: {action.label}")
    for resource in Resource
    for action in Action
]


class UserCreationForm(AdminUserCreationForm):
    """Create a user with a userName and, optionally, a password for this admin site."""

    class Meta:
        model = User
        fields = ("user_name",)


class UserEditForm(UserChangeForm):
    """The identity and this site's sign-in fields; the primary tenant is chosen among the
    tenants that hold a profile of the user (`kestra_iam.profiles`)."""

    class Meta:
        model = User
        fields = "__all__"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields.get("primary_tenant")
        if field is not None:
            with_profile = TenantAccess.objects.filter(user_id=self.instance.pk).values("tenant")
            field.queryset = Tenant.objects.filter(pk__in=with_profile).order_by("pk")
            field.help_text = (
                "Whose profile of this person this site shows, and the one tenant whose "
                "provisioning may change the userName. Only tenants with a profile of the "
                "user are offered; removing that tenant's access keeps the choice."
            )

    def clean_primary_tenant(self):
        tenant = self.cleaned_data.get("primary_tenant")
        if tenant is None or tenant.pk == self.instance.primary_tenant_id:
            return tenant
        validate_primary_tenant(self.instance, tenant)
        return tenant


class TenantAccessForm(forms.ModelForm):
    """A tenant's profile of a user; its manager must be another user of the same tenant."""

    class Meta:
        model = TenantAccess
        fields = ("user", "tenant", "external_id", "active", "manager", *PROFILE_FIELDS)

    def clean(self) -> dict:
        cleaned = super().clean()
        manager = cleaned.get("manager")
        tenant = cleaned.get("tenant") or getattr(self.instance, "tenant", None)
        if manager is not None and tenant is not None and manager.tenant_id != tenant.pk:
            self.add_error("manager", "The manager must be a user of the same tenant.")
        if manager is not None and self.instance.pk and manager.pk == self.instance.pk:
            self.add_error("manager", "A user cannot be their own manager.")
        return cleaned


class UserValueForm(forms.ModelForm):
    """One row of a user's multi-valued attributes, sized to fit the user page: a certificate
    or a photo URL scrolls inside its box instead of widening the page. An address has no
    `value`; its parts (street, locality, postal code, …) are the JSON of `extra`."""

    class Meta:
        model = UserValue
        fields = ("attribute", "position", "value", "type", "primary", "display", "extra")
        labels = {"extra": "other parts"}
        help_texts = {"extra": "JSON: an address's streetAddress, locality, postalCode, …"}
        widgets = {
            "position": forms.NumberInput(attrs={"class": "vIntegerField", "style": "width: 4em"}),
            "attribute": forms.Select(attrs={"style": "width: 10em"}),
            "value": forms.Textarea(attrs={"rows": 1, "style": "width: 12em"}),
            "type": forms.TextInput(attrs={"size": 8}),
            "display": forms.TextInput(attrs={"size": 12}),
            "extra": forms.Textarea(attrs={"rows": 2, "style": "width: 13em"}),
        }


class RoleForm(forms.ModelForm):
    """Edit a role's permissions as a grid of resource:action checkboxes instead of raw JSON."""

    grants = forms.MultipleChoiceField(
        label="Permissions",
        choices=PERMISSION_CHOICES,
        required=False,
        widget=PermissionGrid,
    )

    class Meta:
        model = Role
        fields = ("tenant", "name", "description")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["grants"] = permission_pairs(self.instance.permissions)

    def clean(self) -> dict:
        cleaned = super().clean()
        self.instance.permissions = permissions_from_pairs(cleaned.get("grants", []))
        return cleaned
