"""The writes that change access decisions: roles, bindings and a tenant's default role.

Each refuses what the rules refuse with one readable sentence (`DomainError`), which the
commands print and the admin shows: a namespace in Kestra's format, a binding of a role to a
subject that does not hold it there yet, a user binding only for a user with access to the
tenant. The database holds the same rules (unique bindings, the access trigger), so a write
that goes around these functions is refused too.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from kestra_iam.models import Binding, Group, Role, ServiceAccount, Tenant, TenantAccess, User
from kestra_iam.namespaces import validate_namespace
from kestra_iam.permissions import Permissions, normalise_permissions
from kestra_iam.services import DomainError
from kestra_iam.text import case_insensitive_key

ROLE_NAME_MAX = Role._meta.get_field("name").max_length


def role_create(
    *, tenant: Tenant, name: str, permissions: Permissions, description: str = ""
) -> Role:
    name = name.strip()
    if not name:
        raise DomainError("A role needs a name.")
    if len(name) > ROLE_NAME_MAX:
        raise DomainError(f"A role name has at most {ROLE_NAME_MAX} characters.")
    try:
        permissions = normalise_permissions(permissions)
    except ValidationError as exc:
        raise DomainError.from_validation(exc) from None
    try:
        with transaction.atomic():
            return Role.objects.create(
                tenant=tenant, name=name, description=description, permissions=permissions
            )
    except IntegrityError:
        raise DomainError(f"Tenant {tenant.pk!r} already has a role named {name!r}.") from None


def role_delete(*, role: Role) -> Role:
    """Delete a role and its bindings; a tenant whose default role it was has none after."""
    with transaction.atomic():
        role.delete()
    return role


def tenant_set_default_role(*, tenant: Tenant, role: Role | None) -> Tenant:
    """Make `role` the role every active member of the tenant holds (None: no default role)."""
    if role is not None and role.tenant_id != tenant.pk:
        raise DomainError(f"Role {role.name!r} belongs to tenant {role.tenant_id!r}.")
    with transaction.atomic():
        Tenant.objects.filter(pk=tenant.pk).update(default_role=role)
        tenant.default_role = role
    return tenant


def binding_create(
    *,
    tenant: Tenant,
    role: Role,
    user: User | None = None,
    group: Group | None = None,
    service_account: ServiceAccount | None = None,
    namespace: str = "",
) -> Binding:
    """Give `role` to exactly one subject in the tenant, optionally limited to a namespace."""
    if sum(subject is not None for subject in (user, group, service_account)) != 1:
        raise DomainError(
            "A binding has exactly one subject: a user, a group or a service account."
        )
    try:
        validate_namespace(namespace)
    except ValidationError as exc:
        raise DomainError.from_validation(exc) from None
    subject = user or group or service_account
    if role.tenant_id != tenant.pk:
        raise DomainError(f"Role {role.name!r} belongs to tenant {role.tenant_id!r}.")
    if not isinstance(subject, User) and subject.tenant_id != tenant.pk:
        raise DomainError(f"The {subject_label(subject)} belongs to tenant {subject.tenant_id!r}.")
    if user is not None and not TenantAccess.objects.filter(tenant=tenant, user=user).exists():
        raise DomainError(
            f"User {user.user_name!r} has no access to tenant {tenant.pk!r}: provision it there "
            "(or add its tenant access) before binding a role to it."
        )
    where = f" on namespace {namespace!r}" if namespace else " tenant-wide"
    try:
        with transaction.atomic():
            return Binding.objects.create(
                tenant=tenant,
                role=role,
                user=user,
                group=group,
                service_account=service_account,
                namespace=namespace,
            )
    except IntegrityError:
        raise DomainError(
            f"The {subject_label(subject)} already holds role {role.name!r}{where}."
        ) from None


def subject_label(subject: User | Group | ServiceAccount) -> str:
    """A binding's subject in words: `user ada@contoso.com`, `group Data Engineers`, …"""
    if isinstance(subject, User):
        return f"user {subject.user_name}"
    if isinstance(subject, Group):
        return f"group {subject.display_name}"
    return f"service account {subject.name}"


def binding_delete(*, binding: Binding) -> Binding:
    with transaction.atomic():
        binding.delete()
    return binding


# --- finding what a command or form names --------------------------------------------------------


def role_named(tenant: Tenant, name: str) -> Role:
    role = Role.objects.filter(tenant=tenant, name=name).first()
    if role is None:
        raise DomainError(f"Tenant {tenant.pk!r} has no role named {name!r}.")
    return role


def user_named(user_name: str) -> User:
    user = User.objects.filter(user_name_key=case_insensitive_key(user_name)).first()
    if user is None:
        raise DomainError(f"There is no user {user_name!r}.")
    return user


def group_named(tenant: Tenant, display_name: str) -> Group:
    group = Group.objects.filter(
        tenant=tenant, display_name_key=case_insensitive_key(display_name)
    ).first()
    if group is None:
        raise DomainError(f"Tenant {tenant.pk!r} has no group {display_name!r}.")
    return group


def service_account_named(tenant: Tenant, name: str) -> ServiceAccount:
    account = ServiceAccount.objects.filter(tenant=tenant, name=name).first()
    if account is None:
        raise DomainError(f"Tenant {tenant.pk!r} has no service account {name!r}.")
    return account


def tenant_named(tenant_id: str) -> Tenant:
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        raise DomainError(f"There is no tenant {tenant_id!r}.")
    return tenant


def service_account_create(*, tenant: Tenant, name: str, description: str = "") -> ServiceAccount:
    """A service account of the tenant (bind it a role, then issue it a token)."""
    account = ServiceAccount(tenant=tenant, name=name, description=description)
    try:
        account.full_clean(exclude=["tenant"], validate_unique=False)
    except ValidationError as exc:
        raise DomainError.from_validation(exc) from None
    try:
        with transaction.atomic():
            account.save(force_insert=True)
    except IntegrityError:
        raise DomainError(f"Tenant {tenant.pk!r} already has a service account {name!r}.") from None
    return account
