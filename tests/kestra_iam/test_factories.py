"""Every factory builds a valid row (the other tests rely on them)."""

import pytest

from tests import factories

pytestmark = pytest.mark.django_db

ALL_FACTORIES = [
    getattr(factories, name)
    for name in dir(factories)
    if name.endswith("Factory") and name != "DjangoModelFactory"
]


@pytest.mark.parametrize("factory", ALL_FACTORIES, ids=lambda f: f.__name__)
def test_factory_creates_a_valid_row(factory):
    obj = factory()
    obj.full_clean(exclude=["password"])
    assert type(obj).objects.filter(pk=obj.pk).exists()
