"""Database-level invariants of the IAM domain: they hold whatever code writes the rows."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from kestra_iam.models import Binding, Group, User
from tests.factories import (
    BindingFactory,
    GroupFactory,
    GroupMembershipFactory,
    RoleFactory,
    ServiceAccountFactory,
    TenantAccessFactory,
    TenantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "first, second",
    [
        ("alice@example.com", "ALICE@example.com"),
        ("Straße", "STRASSE"),  # full case folding, not lower(): ß ~ ss
        ("ＡＬＩＣＥ", "alice"),  # fullwidth letters are the same name (PRECIS width mapping)
        ("Éloïse", "ÉLOÏSE"),
    ],
)
def test_case_variant_user_name_is_rejected_by_the_database(first, second):
    UserFactory(user_name=first)
    with pytest.raises(IntegrityError), transaction.atomic():
        # bulk_create skips model validation entirely: only the database can refuse it.
        User.objects.bulk_create([User(user_name=second, user_name_key=second.casefold())])
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(user_name=second)


def test_user_name_is_stored_exactly_as_written():
    user = UserFactory(user_name="Alice.Smith@Example.COM")
    user.refresh_from_db()
    assert user.user_name == "Alice.Smith@Example.COM"
    assert user.user_name_key == "alice.smith@example.com"


def test_renaming_through_update_fields_moves_the_key_too():
    user = UserFactory(user_name="old@example.com")
    user.user_name = "New@Example.com"
    user.save(update_fields=["user_name"])
    assert User.objects.get(user_name_key="new@example.com") == user


def test_empty_user_name_is_rejected_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(user_name="", user_name_key="")])


def test_model_validation_reports_a_case_variant_user_name_readably():
    UserFactory(user_name="bob@example.com")
    user = User(user_name="BOB@example.com")
    with pytest.raises(ValidationError, match="compared without regard to case"):
        user.full_clean(exclude=["password", "user_name_key"])


def test_log_in_name_lookup_ignores_case():
    user = UserFactory(user_name="Carol@Example.com")
    assert User.objects.get_by_natural_key("carol@EXAMPLE.com") == user


def test_group_display_name_unique_per_tenant_ignoring_case():
    tenant = TenantFactory()
    GroupFactory(tenant=tenant, display_name="Engineering")
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupFactory(tenant=tenant, display_name="ENGINEERING")
    # The same name in another tenant is a different group.
    GroupFactory(tenant=TenantFactory(), display_name="engineering")
    assert Group.objects.filter(display_name_key="engineering").count() == 2


def test_one_access_per_user_and_tenant():
    access = TenantAccessFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        TenantAccessFactory(tenant=access.tenant, user=access.user)


def test_membership_is_unique_and_disappears_with_the_access():
    membership = GroupMembershipFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupMembershipFactory(group=membership.group, access=membership.access)
    membership.access.delete()
    assert not membership.group.memberships.exists()
    assert User.objects.filter(pk=membership.access.user_id).exists()


def test_role_name_unique_per_tenant():
    role = RoleFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleFactory(tenant=role.tenant, name=role.name)


@pytest.mark.parametrize(
    "subjects",
    [
        pytest.param(("user", "group"), id="user+group"),
        pytest.param(("user", "service_account"), id="user+service-account"),
        pytest.param(("group", "service_account"), id="group+service-account"),
        pytest.param(("user", "group", "service_account"), id="all-three"),
        pytest.param((), id="none"),
    ],
)
def test_binding_needs_exactly_one_subject(subjects):
    tenant = TenantFactory()
    candidates = {
        "user": UserFactory(),
        "group": GroupFactory(tenant=tenant),
        "service_account": ServiceAccountFactory(tenant=tenant),
    }
    role = RoleFactory(tenant=tenant)
    with pytest.raises(IntegrityError), transaction.atomic():
        Binding.objects.bulk_create(
            [Binding(tenant=tenant, role=role, **{name: candidates[name] for name in subjects})]
        )


@pytest.mark.parametrize("subject", ["user", "group", "service_account"])
def test_binding_with_one_subject_is_accepted(subject):
    tenant = TenantFactory()
    value = {
        "user": lambda: UserFactory(),
        "group": lambda: GroupFactory(tenant=tenant),
        "service_account": lambda: ServiceAccountFactory(tenant=tenant),
    }[subject]()
    binding = BindingFactory(tenant=tenant, **{"user": None, subject: value})
    assert binding.subject == value


def test_binding_across_tenants_is_refused_by_validation():
    tenant, other = TenantFactory(), TenantFactory()
    binding = Binding(
        tenant=tenant, role=RoleFactory(tenant=other), group=GroupFactory(tenant=tenant)
    )
    with pytest.raises(ValidationError) as excinfo:
        binding.full_clean()
    assert "role" in excinfo.value.message_dict


def test_a_membership_across_tenants_is_refused_by_the_model_and_the_database():
    from kestra_iam.models import GroupMembership

    group = GroupFactory()
    stranger = TenantAccessFactory()  # an access to another tenant
    membership = GroupMembership(group=group, access=stranger)
    with pytest.raises(ValidationError, match="another tenant"):
        membership.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        membership.save()  # skipping validation: the trigger refuses it
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupMembership.objects.bulk_create([GroupMembership(group=group, access=stranger)])
    kept = GroupMembershipFactory(group=group)
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupMembership.objects.filter(pk=kept.pk).update(access=stranger)
    assert list(GroupMembership.objects.values_list("pk", flat=True)) == [kept.pk]


def test_a_group_or_access_with_members_cannot_move_to_another_tenant():
    membership = GroupMembershipFactory()
    elsewhere = TenantFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Group.objects.filter(pk=membership.group_id).update(tenant=elsewhere)
    access = membership.access
    with pytest.raises(IntegrityError), transaction.atomic():
        type(access).objects.filter(pk=access.pk).update(tenant=elsewhere)
    access.tenant = elsewhere
    with pytest.raises(ValidationError, match="remove them first"):
        access.full_clean()
    # Without members, moving is allowed (the admin can correct a mistaken tenant).
    lone = TenantAccessFactory()
    type(lone).objects.filter(pk=lone.pk).update(tenant=elsewhere)
