"""The two ends of the sign-in: off to the provider, and back with its answer."""

from __future__ import annotations

from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from kestra_iam.admin_scope import admin_scope_of
from signin import audit
from signin.conf import oidc_config
from signin.matching import match_person
from signin.oidc import SignInFailed, client, verified_claims

NEXT_KEY = "signin_next"
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _config_or_404():
    config = oidc_config()
    if config is None:
        raise Http404("Sign-in with an identity provider is not configured.")
    return config


@never_cache
def start(request: HttpRequest) -> HttpResponse:
    config = _config_or_404()
    target = request.GET.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    request.session[NEXT_KEY] = target if safe and target else reverse("admin:index")
    redirect_uri = request.build_absolute_uri(reverse("signin:callback"))
    try:
        return client(config).authorize_redirect(request, redirect_uri)
    except OSError:
        return refused(request, "the identity provider could not be reached", status=502)


@never_cache
def callback(request: HttpRequest) -> HttpResponse:
    config = _config_or_404()
    try:
        claims = verified_claims(config, request)
    except SignInFailed as exc:
        audit.record_refusal(request, "(unverified sign-in)", str(exc))
        return refused(request, str(exc))
    match = match_person(config, claims)
    if not match.accepted:
        tenants = match.disabled_tenants if match.user is not None else ()
        audit.record_refusal(
            request, match.claimed, match.refusal, user=match.user, tenant_ids=tenants
        )
        return refused(request, match.refusal)
    administered = admin_scope_of(match.user).tenant_ids
    if not administered:
        reason = "you administer no tenant here: ask your administrator for a role"
        audit.record_refusal(
            request, match.claimed, reason, user=match.user, tenant_ids=match.active_tenants
        )
        return refused(request, reason)
    login(request, match.user, backend=BACKEND)
    audit.record_sign_in(request, match.user, match.active_tenants, provider=config.provider_name)
    return HttpResponseRedirect(request.session.pop(NEXT_KEY, None) or reverse("admin:index"))


def refused(request: HttpRequest, reason: str, status: int = 403) -> TemplateResponse:
    config = oidc_config()
    context = {
        "reason": reason,
        "provider_name": config.provider_name if config else "",
        "login_url": reverse("admin:login"),
        "title": "Sign-in refused",
        "site_header": "Kestra Administration",
    }
    return TemplateResponse(request, "signin/refused.html", context, status=status)
