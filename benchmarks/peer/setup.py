"""Prepare the peer's database and print a bearer token (run by `benchmarks.run`)."""

import secrets

import django
from django.core.management import call_command


def main() -> None:
    django.setup()
    from benchmarks.peer.models import PeerToken, PeerUser

    call_command("migrate", verbosity=0, interactive=False)
    account = PeerUser.objects.create(username="scim-service-account")
    token = PeerToken.objects.create(key=secrets.token_urlsafe(32), user=account)
    print(token.key)


if __name__ == "__main__":
    main()
