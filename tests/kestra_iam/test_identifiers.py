"""Names people look up carry nothing invisible, wherever they are written."""

import pytest
from django.core.exceptions import ValidationError

from kestra_iam.models import Group, User
from kestra_iam.text import invisible_character

LOOK_ALIKES = ["\u034f", "\ufe0f", "\u3164", "\u115f", "\u2800", "\u180b", "\u200b", "\u00ad"]


@pytest.mark.parametrize("invisible", [*LOOK_ALIKES, "\U000e0041", "\u202e", "\x07"])
def test_an_invisible_character_is_found_wherever_it_is(invisible):
    assert invisible_character(f"ad{invisible}min") == invisible


@pytest.mark.parametrize("name", ["admin", "Ådmin", "名前@example.jp", "\U0001f680", "a b"])
def test_visible_names_have_none(name):
    assert invisible_character(name) is None


@pytest.mark.django_db
@pytest.mark.parametrize("invisible", LOOK_ALIKES)
def test_the_admin_and_commands_refuse_them_as_scim_does(tenant, invisible):
    """Model validation, which the admin's forms and createsuperuser run."""
    with pytest.raises(ValidationError, match=f"U\\+{ord(invisible):04X}"):
        User(user_name=f"admin{invisible}").full_clean()
    with pytest.raises(ValidationError, match="invisible"):
        Group(tenant=tenant, display_name=f"Admins{invisible}").full_clean()
