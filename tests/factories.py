"""factory-boy factories, one per model."""

import factory
from factory.django import DjangoModelFactory

from kestra_iam.models import (
    ApiToken,
    Binding,
    Group,
    GroupMembership,
    Role,
    ServiceAccount,
    Tenant,
    TenantAccess,
    User,
    UserValue,
)


class TenantFactory(DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("id",)

    id = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda t: t.id.replace("-", " ").title())


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    user_name = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.django.Password("correct horse battery staple")


class TenantAccessFactory(DjangoModelFactory):
    class Meta:
        model = TenantAccess

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    external_id = factory.Faker("uuid4")
    display_name = factory.Faker("name")
    name_given_name = factory.Faker("first_name")
    name_family_name = factory.Faker("last_name")


class UserValueFactory(DjangoModelFactory):
    """A value of a tenant's profile of a user (its access)."""

    class Meta:
        model = UserValue

    access = factory.SubFactory(TenantAccessFactory)
    attribute = UserValue.Attribute.EMAILS
    position = factory.Sequence(int)
    value = factory.LazyAttribute(lambda v: v.access.user.user_name)
    value_key = factory.LazyAttribute(lambda v: v.value.casefold())
    type = "work"
    primary = True


class GroupFactory(DjangoModelFactory):
    class Meta:
        model = Group

    tenant = factory.SubFactory(TenantFactory)
    display_name = factory.Sequence(lambda n: f"Group {n}")


class GroupMembershipFactory(DjangoModelFactory):
    class Meta:
        model = GroupMembership

    group = factory.SubFactory(GroupFactory)
    access = factory.SubFactory(TenantAccessFactory, tenant=factory.SelfAttribute("..group.tenant"))


class RoleFactory(DjangoModelFactory):
    class Meta:
        model = Role

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Role{n}")
    permissions = factory.LazyFunction(lambda: {"USERS": ["READ"]})


class ServiceAccountFactory(DjangoModelFactory):
    class Meta:
        model = ServiceAccount

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"robot-{n}")


class BindingFactory(DjangoModelFactory):
    """Binds a role to a user by default — giving the user access to the tenant first, which a
    user binding needs; pass `user=None, group=…` for another subject."""

    class Meta:
        model = Binding

    tenant = factory.SubFactory(TenantFactory)
    role = factory.SubFactory(RoleFactory, tenant=factory.SelfAttribute("..tenant"))
    user = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        if kwargs.get("user") is not None:
            TenantAccess.objects.get_or_create(tenant=kwargs["tenant"], user=kwargs["user"])
        return super()._create(model_class, *args, **kwargs)


class ApiTokenFactory(DjangoModelFactory):
    """A token row with a placeholder digest; tests that authenticate issue real tokens."""

    class Meta:
        model = ApiToken

    service_account = factory.SubFactory(ServiceAccountFactory)
    key_id = factory.Sequence(lambda n: f"key{n:08d}")
    digest = factory.Faker("sha256")
    pepper_id = 0
    last_characters = "abcd"


class ProvisioningIntegrationFactory(DjangoModelFactory):
    """Saving runs the real bootstrap (role, service account, binding) through post_save; no
    token: `integration_create` issues one (the `scim` fixture uses it)."""

    class Meta:
        model = "provisioning.ProvisioningIntegration"

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Integration {n}")
    description = "Provisioned from a test."


def tenant_admin(tenant, user_name: str, permissions: dict, *, role_name: str = "") -> User:
    """A person with an active access to `tenant` and a tenant-wide binding of a role holding
    `permissions` there: a tenant administrator of that much."""
    user = UserFactory(user_name=user_name)
    TenantAccessFactory(tenant=tenant, user=user)
    role = RoleFactory(
        tenant=tenant, name=role_name or f"{user_name} admin", permissions=permissions
    )
    BindingFactory(tenant=tenant, role=role, user=user)
    return user
