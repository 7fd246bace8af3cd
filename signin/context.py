"""What the login page offers: the identity provider's button, when one is configured."""

from signin.conf import oidc_config


def sign_in_options(request) -> dict:
    config = oidc_config()
    return {"oidc_provider_name": config.provider_name if config else ""}
