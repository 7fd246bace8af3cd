"""The IAM domain: tenants, global users and their per-tenant access, groups, roles, bindings,
service accounts and their API tokens (docs/architecture.md, "Domain").

Models hold single-row invariants only; workflows that touch several rows live in services.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connection, models
from django.db.models import Q
from django.utils.text import Truncator
from django.utils.timezone import now

from kestra_iam.namespaces import validate_namespace
from kestra_iam.permissions import normalise_permissions
from kestra_iam.querysets import TenantScopedQuerySet
from kestra_iam.text import case_insensitive_key, validate_identifier
from kestra_iam.tokens import TOKEN_PREFIX

USER_NAME_MAX_LENGTH = 256
# Canonical keys can be longer than what they are derived from (`ß` → `ss`, ligatures).
CANONICAL_KEY_MAX_LENGTH = USER_NAME_MAX_LENGTH * 3


class TenantOwned(models.Model):
    """A row that belongs to one tenant: `Model.objects.for_tenant(t)` is the one way to scope a
    read to a tenant (`kestra_iam.querysets`), through `tenant_lookup`, the path to the tenant
    (a direct foreign key unless the model says otherwise)."""

    objects = TenantScopedQuerySet.as_manager()
    tenant_lookup = "tenant"

    class Meta:
        abstract = True


tenant_id_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
    "A tenant id is 1 to 63 lowercase letters, digits and hyphens, "
    "starting and ending with a letter or digit (e.g. main, acme-prod).",
)
service_account_name_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
    "A service account name is 1 to 63 lowercase letters, digits and hyphens, "
    "starting and ending with a letter or digit.",
)


class CanonicalKeyMixin(models.Model):
    """Keeps case-insensitive key columns in step with the columns they are derived from.

    `canonical_keys` maps a key field to its source field. The key is set on clean and on every
    save (also when only the source is in `update_fields`), and form validation checks the key's
    unique constraints whenever the source is being validated, so duplicates are a form error
    rather than an IntegrityError.
    """

    canonical_keys: dict[str, str] = {}

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        self.sync_canonical_keys()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {
                *update_fields,
                *(key for key, source in self.canonical_keys.items() if source in update_fields),
            }
        super().save(*args, **kwargs)

    def sync_canonical_keys(self) -> None:
        for key_field, source_field in self.canonical_keys.items():
            setattr(self, key_field, case_insensitive_key(getattr(self, source_field)))

    def clean(self) -> None:
        super().clean()
        self.sync_canonical_keys()

    def validate_constraints(self, exclude=None) -> None:
        if exclude:
            exclude = set(exclude)
            for key_field, source_field in self.canonical_keys.items():
                if source_field not in exclude:
                    exclude.discard(key_field)
        super().validate_constraints(exclude)


class Tenant(models.Model):
    """An isolated workspace. Groups, roles, bindings and service accounts belong to one."""

    id = models.CharField(
        "tenant id", primary_key=True, max_length=63, validators=[tenant_id_validator]
    )
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=now, editable=False)
    # Held by every active member of the tenant without a binding (Kestra's "default role").
    default_role = models.ForeignKey(
        "Role",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Every user with active access to this tenant holds this role, tenant-wide, "
        "without a binding.",
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id

    def clean(self) -> None:
        super().clean()
        if self.default_role_id and self.default_role.tenant_id != self.pk:
            raise ValidationError({"default_role": "The default role belongs to another tenant."})


class UserManager(BaseUserManager.from_queryset(TenantScopedQuerySet)):
    use_in_migrations = True

    def get_by_natural_key(self, username: str) -> User:
        # Log-in is case-insensitive, like every other userName comparison.
        return self.get(user_name_key=case_insensitive_key(username))

    def create_user(self, user_name: str, password: str | None = None, **fields) -> User:
        if not user_name:
            raise ValueError("A user needs a userName.")
        user = self.model(user_name=user_name, **fields)
        user.set_password(password)  # None → an unusable password
        user.save(using=self._db)
        return user

    def create_superuser(self, user_name: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(user_name, password, **fields)


class User(CanonicalKeyMixin, AbstractBaseUser, PermissionsMixin):
    """A person's identity, global to the instance: the SCIM `id` (the UUID primary key) and
    `userName`, plus this site's own sign-in fields. Tenants see a user only through
    `TenantAccess`, which holds each tenant's profile of the person.

    `user_name` is stored exactly as written; `user_name_key` is its case-insensitive canonical
    form and carries the unique constraint.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_name = models.CharField(
        "user name", max_length=USER_NAME_MAX_LENGTH, validators=[validate_identifier]
    )
    user_name_key = models.CharField(max_length=CANONICAL_KEY_MAX_LENGTH, editable=False)

    # The tenant whose profile of this person is the primary one (`kestra_iam.profiles`):
    # shown in this admin's lists and used for display. Set by the provisioning that created
    # the user and changed only by a site administrator; kept while that tenant's access is
    # gone, so another tenant's delete never hands it on.
    primary_tenant = models.ForeignKey(
        "Tenant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Whose identity provider's profile of this person is shown here, and who may "
        "change the userName over SCIM. Empty: no tenant's (the userName is this site's).",
    )
    is_staff = models.BooleanField(
        "staff status", default=False, help_text="Can log in to this admin site."
    )
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Global switch for logging in. Per-tenant SCIM `active` lives on tenant access.",
    )
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = UserManager()

    canonical_keys = {"user_name_key": "user_name"}
    USERNAME_FIELD = "user_name"
    REQUIRED_FIELDS: list[str] = []
    tenant_lookup = "accesses__tenant"

    class Meta:
        ordering = ["user_name_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["user_name_key"],
                name="user_name_unique_ci",
                violation_error_message="A user with this userName already exists "
                "(userNames are compared without regard to case).",
            ),
            models.CheckConstraint(condition=~Q(user_name=""), name="user_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.user_name

    def clean(self) -> None:
        # Deliberately not AbstractBaseUser.clean, which rewrites user_name to NFKC: SCIM returns
        # userName exactly as written; equivalence is the canonical key's job.
        self.sync_canonical_keys()


class UserValue(models.Model):
    """One element of a multi-valued attribute (emails, phoneNumbers, addresses, …) of a
    tenant's profile of a user.

    Kept as rows, in the order written, so filters such as `emails[type eq "work"].value eq "x"`
    are an indexed lookup rather than a scan of JSON. Sub-attributes without a column of their own
    (an address's parts, `$ref`) are kept in `extra`.
    """

    class Attribute(models.TextChoices):
        EMAILS = "emails"
        PHONE_NUMBERS = "phoneNumbers"
        IMS = "ims"
        PHOTOS = "photos"
        ADDRESSES = "addresses"
        ENTITLEMENTS = "entitlements"
        ROLES = "roles"
        X509_CERTIFICATES = "x509Certificates"

    # No index of its own: the unique (access, attribute, position) index serves lookups by
    # access. A tenant's access, not the user: each tenant holds its own values of a person.
    access = models.ForeignKey(
        "TenantAccess", on_delete=models.CASCADE, related_name="values", db_index=False
    )
    attribute = models.CharField(max_length=32, choices=Attribute.choices)
    position = models.PositiveIntegerField()
    value = models.TextField(blank=True, default="")
    # Canonical form of `value` for attributes compared case-insensitively; empty otherwise
    # (certificates and photo URLs are case-exact and too long for a B-tree entry).
    value_key = models.CharField(max_length=CANONICAL_KEY_MAX_LENGTH, blank=True, default="")
    type = models.CharField(max_length=64, blank=True, default="")
    primary = models.BooleanField(null=True, blank=True)  # None: not given (returned as absent)
    display = models.CharField(max_length=512, blank=True, default="")
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["access", "attribute", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["access", "attribute", "position"], name="user_value_position_unique"
            ),
        ]
        indexes = [models.Index(fields=["attribute", "value_key"], name="user_value_lookup")]

    def __str__(self) -> str:
        # Shortened: a certificate or a photo URL would otherwise be one unbreakable line.
        shown = Truncator(self.value or self.display).chars(40)
        return f"{self.attribute}[{self.position}] {shown}"


class Profile(models.Model):
    """What one identity provider says about a person: SCIM's single-valued User attributes
    (its multi-valued ones are `UserValue` rows) and the enterprise extension."""

    display_name = models.CharField("display name", max_length=256, blank=True, default="")
    nick_name = models.CharField("nickname", max_length=256, blank=True, default="")
    title = models.CharField(max_length=256, blank=True, default="")
    user_type = models.CharField("user type", max_length=256, blank=True, default="")
    profile_url = models.CharField("profile URL", max_length=2048, blank=True, default="")
    preferred_language = models.CharField(
        "preferred language", max_length=64, blank=True, default=""
    )
    locale = models.CharField(max_length=64, blank=True, default="")
    timezone = models.CharField(max_length=64, blank=True, default="")

    name_formatted = models.CharField("formatted name", max_length=512, blank=True, default="")
    name_family_name = models.CharField("family name", max_length=256, blank=True, default="")
    name_given_name = models.CharField("given name", max_length=256, blank=True, default="")
    name_middle_name = models.CharField("middle name", max_length=256, blank=True, default="")
    name_honorific_prefix = models.CharField(
        "honorific prefix", max_length=64, blank=True, default=""
    )
    name_honorific_suffix = models.CharField(
        "honorific suffix", max_length=64, blank=True, default=""
    )

    # Enterprise User extension (RFC 7643 §4.3)
    employee_number = models.CharField("employee number", max_length=256, blank=True, default="")
    cost_center = models.CharField("cost center", max_length=256, blank=True, default="")
    organization = models.CharField(max_length=256, blank=True, default="")
    division = models.CharField(max_length=256, blank=True, default="")
    department = models.CharField(max_length=256, blank=True, default="")

    class Meta:
        abstract = True


PROFILE_FIELDS = tuple(field.name for field in Profile._meta.fields)


class TenantAccess(TenantOwned, Profile):
    """A user's presence in a tenant, and the tenant's profile of that user.

    A user "exists" in a tenant's SCIM view only through this row, and that view is the
    tenant's own: everything its identity provider writes (`externalId`, `active`, the profile,
    the multi-valued attributes, the manager, a password) is kept here, never on the global
    `User`, so no tenant reads or changes what another tenant's identity provider wrote
    (`kestra_iam.profiles`). SCIM DELETE removes the row — and with it the profile and, by
    cascade, the user's group memberships in the tenant — and leaves the user alone.
    """

    # No index of its own: the unique (tenant, user) index serves every tenant-wide query, and a
    # second, tenant-only index is one the planner may wrongly prefer on fresh tables.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="accesses", db_index=False
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="accesses")
    external_id = models.CharField("externalId", max_length=256, blank=True, default="")
    # SCIM `active` for this tenant. None: never set (or removed), which counts as active.
    active = models.BooleanField(null=True, blank=True, default=True)
    # The manager's access in the same tenant: a tenant names only its own people, and a
    # manager whose access is removed stops being anyone's manager there.
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    # A password the tenant's identity provider sent, hashed. Kept because SCIM lets a client
    # set one; never accepted by this site's sign-in, so no tenant can set how a person logs in.
    scim_password = models.CharField(
        "password set over SCIM", max_length=128, blank=True, default="", editable=False
    )
    # The integration that created this access, if one did. An id, not a foreign key: the IAM
    # domain does not depend on the provisioning app, and the fact outlives the integration.
    provisioned_by_id = models.UUIDField(
        "provisioned by (integration id)", null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = "tenant access"
        verbose_name_plural = "tenant accesses"
        ordering = ["tenant", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="tenant_access_unique"),
        ]
        indexes = [
            models.Index(fields=["tenant", "external_id"], name="tenant_access_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant_id}"

    def clean(self) -> None:
        super().clean()
        if self.pk is None or not self.tenant_id:
            return
        moved = TenantAccess.objects.filter(pk=self.pk).exclude(tenant_id=self.tenant_id)
        if moved.exists() and self.memberships.exists():
            raise ValidationError(
                {"tenant": "This access has group memberships in its tenant; remove them first."}
            )


class Group(CanonicalKeyMixin, TenantOwned):
    """A tenant's group of users; `display_name` is unique in the tenant whatever its case."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: the unique (tenant, displayName key) index serves tenant-wide queries.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="groups", db_index=False
    )
    display_name = models.CharField(
        "display name", max_length=256, validators=[validate_identifier]
    )
    display_name_key = models.CharField(max_length=CANONICAL_KEY_MAX_LENGTH, editable=False)
    external_id = models.CharField("externalId", max_length=256, blank=True, default="")
    # The integration that created the group, if one did (an id, as on TenantAccess).
    provisioned_by_id = models.UUIDField(
        "provisioned by (integration id)", null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    canonical_keys = {"display_name_key": "display_name"}

    class Meta:
        ordering = ["tenant", "display_name_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "display_name_key"],
                name="group_display_name_unique_ci",
                violation_error_message="This tenant already has a group with this displayName "
                "(names are compared without regard to case).",
            ),
            models.CheckConstraint(condition=~Q(display_name=""), name="group_name_not_empty"),
        ]
        indexes = [models.Index(fields=["tenant", "external_id"], name="group_external_id")]

    def __str__(self) -> str:
        return self.display_name


class GroupMembership(TenantOwned):
    """A user's membership of a group, through the user's access to the group's tenant.

    Pointing at `TenantAccess` rather than `User` makes "members hold access to the tenant" a
    foreign key: a membership cannot outlive the access, and removing the access removes it.
    That the access and the group share a tenant is checked by `clean` and by a trigger.
    """

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    access = models.ForeignKey(TenantAccess, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(default=now, editable=False)

    tenant_lookup = "group__tenant"

    class Meta:
        ordering = ["group", "id"]
        constraints = [
            models.UniqueConstraint(fields=["group", "access"], name="group_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.access.user} in {self.group}"

    def clean(self) -> None:
        # Also a database trigger (migration 0007), for writes that skip validation.
        super().clean()
        if self.group_id and self.access_id and self.group.tenant_id != self.access.tenant_id:
            raise ValidationError(
                {"access": "The user's access belongs to another tenant than the group."}
            )


class Role(TenantOwned):
    """A named set of permissions in a tenant: `{resource: [actions]}`."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="roles")
    name = models.CharField(max_length=128)
    description = models.TextField(blank=True, default="")
    permissions = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="role_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.tenant_id})"

    def clean(self) -> None:
        try:
            self.permissions = normalise_permissions(self.permissions)
        except ValidationError as exc:
            raise ValidationError({"permissions": exc.messages}) from None


class ServiceAccount(TenantOwned):
    """A non-human principal of a tenant that authenticates with API tokens."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="service_accounts")
    name = models.CharField(max_length=63, validators=[service_account_name_validator])
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["tenant", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="service_account_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.tenant_id})"


class Binding(TenantOwned):
    """A role given, in a tenant, to exactly one subject: a user, a group or a service account."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="bindings")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="bindings")
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="bindings"
    )
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="bindings"
    )
    service_account = models.ForeignKey(
        ServiceAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="bindings"
    )
    namespace = models.CharField(
        max_length=512,
        blank=True,
        default="",
        validators=[validate_namespace],
        help_text="Limit the role to this namespace and every namespace below it "
        "(company.data covers company.data.etl). Empty: the whole tenant.",
    )
    created_at = models.DateTimeField(default=now, editable=False)

    SUBJECT_FIELDS = ("user", "group", "service_account")

    class Meta:
        ordering = ["tenant", "role", "id"]
        constraints = [
            *(
                models.UniqueConstraint(
                    fields=["tenant", "role", subject, "namespace"],
                    condition=Q(**{f"{subject}__isnull": False}),
                    name=f"binding_unique_per_{subject}",
                    violation_error_message="This subject already holds this role on this "
                    "namespace.",
                )
                for subject in ("user", "group", "service_account")
            ),
            models.CheckConstraint(
                condition=(
                    Q(user__isnull=False, group__isnull=True, service_account__isnull=True)
                    | Q(user__isnull=True, group__isnull=False, service_account__isnull=True)
                    | Q(user__isnull=True, group__isnull=True, service_account__isnull=False)
                ),
                name="binding_exactly_one_subject",
                violation_error_message="A binding has exactly one subject: "
                "a user, a group or a service account.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role.name} → {self.subject}"

    @property
    def subject(self) -> User | Group | ServiceAccount | None:
        return self.user or self.group or self.service_account

    def clean(self) -> None:
        errors = {}
        if self.role_id and self.tenant_id and self.role.tenant_id != self.tenant_id:
            errors["role"] = "The role belongs to another tenant."
        if self.group_id and self.tenant_id and self.group.tenant_id != self.tenant_id:
            errors["group"] = "The group belongs to another tenant."
        if (
            self.service_account_id
            and self.tenant_id
            and self.service_account.tenant_id != self.tenant_id
        ):
            errors["service_account"] = "The service account belongs to another tenant."
        if (
            self.user_id
            and self.tenant_id
            and not TenantAccess.objects.filter(
                tenant_id=self.tenant_id, user_id=self.user_id
            ).exists()
        ):
            errors["user"] = "The user has no access to this tenant; provision it there first."
        if errors:
            raise ValidationError(errors)


class ApiToken(TenantOwned):
    """A service account's bearer token. Only an HMAC digest of the secret is stored.

    `key_id` is a public, random lookup key embedded in the token; the secret part is verified
    against `digest` in constant time (see `kestra_iam.tokens`). `last_characters` lets admins
    recognise a token without it being recoverable.
    """

    service_account = models.ForeignKey(
        ServiceAccount, on_delete=models.CASCADE, related_name="tokens"
    )
    key_id = models.CharField(max_length=32, unique=True, editable=False)
    digest = models.CharField(max_length=128, editable=False)
    pepper_id = models.PositiveSmallIntegerField(editable=False)
    last_characters = models.CharField(max_length=8, editable=False)
    created_at = models.DateTimeField(default=now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    tenant_lookup = "service_account__tenant"

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.display

    @property
    def display(self) -> str:
        """What admins see: the public part and the last characters, never the secret."""
        return f"{TOKEN_PREFIX}_{self.key_id}…{self.last_characters}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= now()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired


class AuditEvent(models.Model):
    """One write: a SCIM request, an admin change or a command, and how it ended.

    Tenant and integration are kept as plain values, not foreign keys, so the trail outlives
    what it describes. Never holds a token, a password or a request body.
    """

    class ActorType(models.TextChoices):
        SERVICE_ACCOUNT = "service_account", "service account"
        ADMIN = "admin", "admin user"
        COMMAND = "command", "command line"

    class Kind(models.TextChoices):
        """What a write did, as the trail tells it (`kestra_iam.audit_story`)."""

        CREATED = "created", "created"
        LINKED = "linked", "linked (an existing user)"
        UPDATED = "updated", "updated"
        MEMBERS = "members", "members changed"
        DISABLED = "disabled", "disabled"
        ENABLED = "enabled", "enabled"
        ACCESS_REMOVED = "access_removed", "access removed"
        DELETED = "deleted", "deleted"
        TOKEN = "token", "token issued, rotated or revoked"
        REPAIRED = "repaired", "repaired"
        REFUSED = "refused", "refused"
        OTHER = "other", "other"

    occurred_at = models.DateTimeField(default=now, editable=False, db_index=True)
    tenant_id = models.CharField("tenant", max_length=63, blank=True, default="")
    integration_id = models.UUIDField("integration", null=True, blank=True)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor = models.CharField(max_length=256)
    action = models.CharField(max_length=64)
    resource_type = models.CharField(max_length=64, blank=True, default="")
    resource_id = models.CharField(max_length=128, blank=True, default="")
    outcome = models.PositiveSmallIntegerField(
        help_text="HTTP status of the request (200 for success otherwise)."
    )
    request_id = models.CharField(max_length=64, blank=True, default="")
    # The resource as it was named at the write (a userName, a displayName, an integration's
    # name), so that the trail reads after a rename or a deletion.
    subject = models.CharField(max_length=256, blank=True, default="")
    kind = models.CharField(max_length=16, choices=Kind.choices, blank=True, default="")
    # What the write changed, bounded (`kestra_iam.audit.Changes`): attributes old → new (a
    # secret only as set), members added and removed.
    changes = models.JSONField(blank=True, default=dict)
    detail = models.CharField(max_length=512, blank=True, default="")
    # The generation the write's request was authorised under; the database refuses the event,
    # and so the write, if it no longer stands (`kestra_iam.authorisation`).
    authorised_generation = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["tenant_id", "occurred_at"], name="audit_tenant_time"),
            models.Index(fields=["integration_id", "occurred_at"], name="audit_integration_time"),
            models.Index(fields=["resource_id", "occurred_at"], name="audit_resource_time"),
            models.Index(fields=["request_id"], name="audit_request"),
            # Deletions are few and name what no longer exists (a deleted integration).
            models.Index(
                fields=["resource_type", "resource_id"],
                condition=Q(kind="deleted"),
                name="audit_deletions",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} → {self.outcome}"


class AuthGeneration(models.Model):
    """One value that the database changes (by triggers, see `kestra_iam.db.triggers`) whenever
    something that decides who may call what changes: API tokens, service accounts and their
    role bindings, roles, tenants, provisioning integrations. On PostgreSQL each change draws a
    random 64-bit value, so no value is ever issued twice, even after a failover that lost one;
    only equality is compared.

    Authentication caches what it read under a generation and trusts it only while the
    generation stands, so a revoked token or a narrowed role takes effect on the next request,
    whichever process or app server serves it.
    """

    ROW = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=ROW)
    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "authorisation generation"

    def __str__(self) -> str:
        return f"generation {self.value}"

    @classmethod
    def current(cls) -> int | None:
        """The generation now: one indexed read, written in SQL because it runs on every
        authenticated request (None if the row is missing, which disables caching)."""
        table = connection.ops.quote_name(cls._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT value FROM {table} WHERE id = %s", [cls.ROW])  # noqa: S608
            row = cursor.fetchone()
        return row[0] if row else None
