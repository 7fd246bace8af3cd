"""Provisioning integrations: a tenant's SCIM endpoint and the service account behind it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils.timezone import now

from kestra_iam.models import ServiceAccount, Tenant, TenantOwned

MAX_TOKEN_LIFETIME_DAYS = 3650
MAX_DESCRIPTION_LENGTH = 2000  # a paragraph: what it is for, who owns it in the directory


class ProvisioningIntegration(TenantOwned):
    """One identity provider provisioning one tenant.

    Saving a new integration bootstraps, in the same transaction, the tenant's SCIMProvisioner
    role, a service account bound to it, and the API token that is the integration's Secret
    Token (see `provisioning.signals`).
    """

    class Type(models.TextChoices):
        SCIM_2_0 = "SCIM_2_0", "SCIM 2.0"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="integrations")
    name = models.CharField(max_length=128)
    # Bounded by validation (the admin's form, full_clean for the commands), not by the column:
    # a max_length here would make SQLite rebuild the table, and its triggers with it.
    description = models.TextField(
        blank=True, default="", validators=[MaxLengthValidator(MAX_DESCRIPTION_LENGTH)]
    )
    provisioning_type = models.CharField(
        "provisioning type", max_length=16, choices=Type.choices, default=Type.SCIM_2_0
    )
    enabled = models.BooleanField(
        default=True, help_text="A disabled integration rejects every request to its endpoint."
    )
    # PROTECT: the account is removed with the integration, by the delete service, not on its own.
    service_account = models.OneToOneField(
        ServiceAccount,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="integration",
    )
    token_lifetime_days = models.PositiveIntegerField(
        "token lifetime (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TOKEN_LIFETIME_DAYS)],
        help_text="Leave empty for a Secret Token that never expires (what Entra ID expects). "
        "Otherwise rotate it before it expires: the list warns 30 days ahead.",
    )
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    last_request_at = models.DateTimeField("last request received", null=True, editable=False)

    class Meta:
        verbose_name = "provisioning integration"
        verbose_name_plural = "provisioning integrations"  # the menu says "Provisioning"
        ordering = ["tenant", "name"]
        constraints = [
            # Without case, like user and group names: "microsoft entra id" next to "Microsoft
            # Entra ID" would be two integrations nobody can tell apart in a list.
            models.UniqueConstraint(
                "tenant",
                Lower("name"),
                name="integration_name_unique_ci",
                violation_error_code="duplicate_name",
                violation_error_message="This tenant already has an integration with this name "
                "(names are compared without case).",
            ),
            models.CheckConstraint(
                condition=models.Q(token_lifetime_days__isnull=True)
                | models.Q(
                    token_lifetime_days__gte=1, token_lifetime_days__lte=MAX_TOKEN_LIFETIME_DAYS
                ),
                name="integration_token_lifetime_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.tenant_id})"

    def save(self, *args, **kwargs) -> None:
        # The post_save bootstrap runs inside this transaction: if it fails, no integration is
        # left without its role, service account or token, whoever called save().
        with transaction.atomic():
            super().save(*args, **kwargs)

    def validate_constraints(self, exclude=None) -> None:
        """A taken name is the Name's error (Django reports a constraint on an expression,
        `Lower("name")`, for no field), so the admin shows it on the Name field."""
        try:
            super().validate_constraints(exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict({})
            general = errors.pop(NON_FIELD_ERRORS, [])
            taken = [e for e in general if getattr(e, "code", None) == "duplicate_name"]
            if taken:
                errors.setdefault("name", []).extend(taken)
            rest = [e for e in general if e not in taken]
            if rest:
                errors[NON_FIELD_ERRORS] = rest
            raise ValidationError(errors) from None

    @property
    def token_lifetime(self) -> timedelta | None:
        return timedelta(days=self.token_lifetime_days) if self.token_lifetime_days else None


class TokenReveal(models.Model):
    """A Secret Token page that may still be shown once (`provisioning.reveal`).

    The sealed token waits in the admin's session, but two requests holding the same session
    both read it before either removes it. Deleting this row is the claim: the database lets
    exactly one request delete it, and only that one shows the token.
    """

    ticket = models.CharField(primary_key=True, max_length=32, editable=False)
    created_at = models.DateTimeField(default=now, editable=False)

    def __str__(self) -> str:
        return f"token reveal {self.ticket}"


class TokenRefusal(models.Model):
    """Requests refused with a token of an integration — revoked (a rotation revokes the old
    one), expired, or with a wrong secret — counted per integration and reason: one row each,
    however many requests, so that a flood of refused requests cannot fill a table."""

    class Reason(models.TextChoices):
        REVOKED = "revoked", "a revoked token"
        EXPIRED = "expired", "an expired token"
        WRONG_SECRET = "wrong_secret", "a wrong secret for a known key id"

    integration = models.ForeignKey(
        ProvisioningIntegration, on_delete=models.CASCADE, related_name="token_refusals"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    count = models.PositiveBigIntegerField(default=0)
    first_at = models.DateTimeField(default=now)
    last_at = models.DateTimeField(default=now)
    last_key = models.CharField(
        max_length=64, help_text="The public part of the last token refused (its key id)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "reason"], name="token_refusal_per_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.count} request(s) with {self.get_reason_display()}"
