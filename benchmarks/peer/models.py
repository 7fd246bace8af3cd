"""The peer's models, as django-scim2's own test app defines them."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django_scim.models import AbstractSCIMGroupMixin, AbstractSCIMUserMixin


class PeerGroup(AbstractSCIMGroupMixin):
    name = models.CharField("name", max_length=80, unique=True)


class PeerUser(AbstractSCIMUserMixin, AbstractUser):
    scim_groups = models.ManyToManyField(PeerGroup, related_name="user_set")


class PeerToken(models.Model):
    """A bearer token, looked up by its key (DRF authtoken's shape)."""

    key = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(PeerUser, on_delete=models.CASCADE)

    def __str__(self) -> str:
        return f"token of {self.user}"
