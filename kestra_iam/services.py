"""Writes of the IAM domain that other apps and commands call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.timezone import now
from django.views.decorators.debug import sensitive_variables

from kestra_iam import tokens
from kestra_iam.models import ApiToken, ServiceAccount, Tenant

# "Last used" times are refreshed at most this often, so authenticating is not a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class DomainError(Exception):
    """A request the domain refuses; the message is one sentence meant for the person asking.

    Refused field values (`from_validation`) keep which field each message is about, so a
    command can name its option (`--name: this field cannot be blank.`) and say it once.
    """

    def __init__(self, message: str = "", *, fields: dict[str, list[str]] | None = None):
        self.fields = fields or {}
        super().__init__(message or self.render(lambda field: field))

    @classmethod
    def from_validation(cls, exc: ValidationError) -> DomainError:
        if not hasattr(exc, "error_dict"):
            return cls(" ".join(dict.fromkeys(exc.messages)))
        fields = {
            field: list(dict.fromkeys(m for error in errors for m in error.messages))
            for field, errors in exc.error_dict.items()
        }
        return cls(fields=fields)

    def render(self, label) -> str:
        parts = []
        for field, messages in self.fields.items():
            text = " ".join(messages)
            if field == NON_FIELD_ERRORS:
                parts.append(text)
            else:
                parts.append(f"{label(field)}: {text[:1].lower()}{text[1:]}")
        return " ".join(parts)

    def on_command_line(self) -> str:
        """The message with each field named as the command's option for it."""
        if not self.fields:
            return str(self)
        return self.render(lambda field: "--" + field.replace("_", "-"))


def tenant_create(*, tenant_id: str, name: str = "") -> Tenant:
    """Create a tenant; refuse an invalid or taken id with a readable message."""
    tenant = Tenant(id=tenant_id, name=name or tenant_id)
    try:
        tenant.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise DomainError(f"Invalid tenant id {tenant_id!r}: {' '.join(exc.messages)}") from None
    with transaction.atomic():
        if Tenant.objects.select_for_update().filter(id=tenant_id).exists():
            raise DomainError(f"Tenant {tenant_id!r} already exists.")
        tenant.save(force_insert=True)
    return tenant


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str  # shown once to whoever asked for it; never stored, never logged


MAX_ROTATION_OVERLAP = timedelta(hours=24)


@sensitive_variables("generated")
def api_token_issue(
    *, service_account: ServiceAccount, lifetime: timedelta | None = None
) -> IssuedToken:
    """Issue a new token for a service account. Only its digest is stored."""
    generated = tokens.generate()
    token = ApiToken.objects.create(
        service_account=service_account,
        key_id=generated.key_id,
        digest=generated.digest,
        pepper_id=generated.pepper_id,
        last_characters=generated.last_characters,
        expires_at=now() + lifetime if lifetime else None,
    )
    return IssuedToken(token=token, raw=generated.raw)


def live_tokens(service_account: ServiceAccount):
    """Tokens that still authenticate, newest first."""
    current = now()
    return (
        service_account.tokens.filter(revoked_at__isnull=True)
        .exclude(expires_at__lte=current)
        .order_by("-created_at", "-pk")
    )


def api_token_revoke_all(*, service_account: ServiceAccount) -> int:
    """Revoke every live token of a service account; returns how many were live."""
    return live_tokens(service_account).update(revoked_at=now())


def api_token_rotate(
    *,
    service_account: ServiceAccount,
    overlap: timedelta = timedelta(0),
    lifetime: timedelta | None = None,
) -> IssuedToken:
    """Issue a new token and retire the old ones.

    With an overlap, the newest old token keeps working until the overlap ends (so the identity
    provider can be updated without a gap) and every older one is revoked now: at most two
    tokens are ever live. Without one, all old tokens stop working at once.
    """
    if overlap < timedelta(0) or overlap > MAX_ROTATION_OVERLAP:
        raise DomainError("The overlap of a token rotation is between 0 and 24 hours.")
    with transaction.atomic():
        previous = list(live_tokens(service_account).select_for_update())
        if overlap and previous:
            keep, *older = previous
            ends = now() + overlap
            if keep.expires_at is None or keep.expires_at > ends:
                ApiToken.objects.filter(pk=keep.pk).update(expires_at=ends)
            ApiToken.objects.filter(pk__in=[t.pk for t in older]).update(revoked_at=now())
        else:
            ApiToken.objects.filter(pk__in=[t.pk for t in previous]).update(revoked_at=now())
        return api_token_issue(service_account=service_account, lifetime=lifetime)


@sensitive_variables("raw", "parsed")
def api_token_authenticate(
    raw: str,
    *,
    related: tuple[str, ...] = (),
    annotations: dict | None = None,
    on_refused: Callable[[ApiToken, str], None] | None = None,
) -> ApiToken | None:
    """The usable token a presented bearer value stands for, or None.

    Unknown key ids, wrong secrets, malformed values, revoked and expired tokens all give None,
    after the same digest work (see `kestra_iam.tokens`). `related` (select_related paths)
    and `annotations` let a caller fetch what it needs about the principal in the same query.
    A token that exists but is refused is told to `on_refused(token, reason)` — "revoked",
    "expired" or "wrong_secret" — so that its owner can see it was tried.
    """
    parsed = tokens.parse(raw)
    if parsed is None:
        tokens.burn_equivalent_time(raw)
        return None
    token = (
        ApiToken.objects.select_related("service_account__tenant", *related)
        .annotate(**(annotations or {}))
        .filter(key_id=parsed.key_id)
        .first()
    )
    if token is None:
        tokens.burn_equivalent_time(parsed.secret)
        return None
    if not tokens.secret_matches(
        parsed.secret, stored_digest=token.digest, pepper_id=token.pepper_id
    ):
        return _refused(token, "wrong_secret", on_refused)
    if not token.is_usable:
        return _refused(token, "revoked" if token.revoked_at else "expired", on_refused)
    touch(token, "last_used_at")
    return token


def _refused(token: ApiToken, reason: str, on_refused) -> None:
    if on_refused is not None:
        on_refused(token, reason)
    return None


def touch(instance, field: str) -> None:
    """Set a "last used" time to now, at most once per LAST_USED_RESOLUTION.

    One UPDATE a minute instead of one per request; the instance is kept equal to the row.
    """
    current = now()
    last = getattr(instance, field)
    if last is None or current - last >= LAST_USED_RESOLUTION:
        type(instance).objects.filter(pk=instance.pk).update(**{field: current})
        setattr(instance, field, current)
