"""Admin forms for the IAM domain."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from kestra_iam.models import Role, User
from kestra_iam.permissions import Action, Resource, permission_pairs, permissions_from_pairs

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
    class Meta:
        model = User
        fields = "__all__"


class RoleForm(forms.ModelForm):
    """Edit a role's permissions as a grid of resource:action checkboxes instead of raw JSON."""

    grants = forms.MultipleChoiceField(
        label="Permissions",
        choices=PERMISSION_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
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
