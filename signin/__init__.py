"""Sign-in to the admin with an OpenID provider (Microsoft Entra ID, Okta, Keycloak …), matched
to the people provisioning created; see `signin.oidc`."""
