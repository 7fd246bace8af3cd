"""Admin forms for the IAM domain."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from kestra_iam.models import Role, User, UserValue
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
