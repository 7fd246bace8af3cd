"""What the admin shows of access decisions: a user's effective permissions per tenant, a
group's bindings, who holds a role, and the "Check access" page.

Everything here asks `kestra_iam.rbac` and renders its answer; nothing decides on its own.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from kestra_iam.admin_scope import scope_of
from kestra_iam.models import Binding, Group, Role, Tenant, User
from kestra_iam.namespaces import MAX_LENGTH, validate_namespace
from kestra_iam.permissions import Action, Permission, Resource
from kestra_iam.rbac.engine import Check, Denial, check_access, subject_permissions, validate_scope
from kestra_iam.rbac.grants import Grant, Source
from kestra_iam.rbac.policy import AccessState, SubjectRef

PERMISSION_CHOICES = [(f"{r}:{a}", f"{r}:{a}") for r in Resource for a in Action]


def _change_link(obj, label: str | None = None) -> str:
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or str(obj))


def grant_html(grant: Grant) -> str:
    """A grant in words, its role and group linking to their pages."""
    role = format_html(
        '<a href="{}">{}</a>',
        reverse("admin:kestra_iam_role_change", args=[grant.role_id]),
        grant.role_name,
    )
    where = (
        format_html(" on <code>{}</code>", grant.namespace) if grant.namespace else (" tenant-wide")
    )
    if grant.source is Source.GROUP:
        group = format_html(
            '<a href="{}">{}</a>',
            reverse("admin:kestra_iam_group_change", args=[grant.group_id]),
            grant.group_name,
        )
        return format_html("role {}{}, through group {}", role, where, group)
    if grant.source is Source.DEFAULT_ROLE:
        return format_html("role {}, the tenant's default role", role)
    return format_html("role {}{}, bound directly", role, where)


def effective_access_html(user: User, *, tenant_ids: list[str] | None = None) -> str:
    """Per tenant of the user (of these tenants, when given): what it holds by namespace and
    where each comes from; greyed, as what it would hold again, when the tenant's identity
    provider disabled the access."""
    if user.pk is None:
        return "—"
    accesses = user.accesses.select_related("tenant").order_by("tenant_id")
    if tenant_ids is not None:
        accesses = accesses.filter(tenant_id__in=tenant_ids)
    if not accesses:
        return "No access to any tenant: no permissions anywhere."
    blocks = []
    for access in accesses:
        disabled = access.active is False
        held = subject_permissions(
            tenant=access.tenant,
            subject=SubjectRef("user_id", str(user.pk)),
            as_if_active=True,
        )
        heading = format_html(
            "<strong>{}</strong>{}",
            access.tenant_id,
            " — access disabled by its identity provider: none of this applies" if disabled else "",
        )
        if not held.permissions:
            body = format_html("<p>{}</p>", "No permission in this tenant.")
        else:
            rows = format_html_join(
                "",
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                (
                    (
                        format_html("<code>{}</code> and below", entry.namespace)
                        if entry.namespace
                        else "the whole tenant",
                        str(entry.permission),
                        format_html_join("; ", "{}", ((grant_html(g),) for g in entry.reasons)),
                    )
                    for entry in held.permissions
                ),
            )
            body = format_html(
                '<table class="effective-access"><thead><tr><th scope="col">Where</th>'
                '<th scope="col">Permission</th><th scope="col">Why</th></tr></thead>'
                "<tbody>{}</tbody></table>",
                rows,
            )
        blocks.append(
            format_html(
                '<div class="effective-tenant{}">{}{}</div>',
                " disabled" if disabled else "",
                heading,
                body,
            )
        )
    return format_html_join("", "{}", ((block,) for block in blocks))


def group_bindings_html(group: Group) -> str:
    if group.pk is None:
        return "—"
    bindings = group.bindings.select_related("role").order_by("role__name", "namespace")
    if not bindings:
        return "No role is bound to this group: its members hold nothing through it."
    return format_html(
        "<ul>{}</ul>",
        format_html_join(
            "",
            "<li>{} {}</li>",
            (
                (
                    _change_link(b.role, b.role.name),
                    format_html("on <code>{}</code> and below", b.namespace)
                    if b.namespace
                    else "tenant-wide",
                )
                for b in bindings
            ),
        ),
    )


def role_holders_html(role: Role) -> str:
    """Who holds the role: bound directly (users, service accounts), through groups (with how
    many members each), and every active member if it is the tenant's default role."""
    if role.pk is None:
        return "—"
    parts = []
    if Tenant.objects.filter(pk=role.tenant_id, default_role=role).exists():
        parts.append(
            format_html("<li>{}</li>", "Every active member of the tenant (its default role).")
        )
    bindings = (
        Binding.objects.filter(role=role)
        .select_related("user", "group", "service_account")
        .order_by("group__display_name", "user__user_name_key", "service_account__name")
    )
    for binding in bindings:
        where = (
            format_html(" on <code>{}</code> and below", binding.namespace)
            if binding.namespace
            else " tenant-wide"
        )
        if binding.group_id:
            members = binding.group.memberships.count()
            who = format_html(
                "group {} ({} member{})",
                _change_link(binding.group, binding.group.display_name),
                members,
                "" if members == 1 else "s",
            )
        elif binding.user_id:
            who = format_html("user {}", _change_link(binding.user, binding.user.user_name))
        else:
            who = format_html(
                "service account {}",
                _change_link(binding.service_account, binding.service_account.name),
            )
        parts.append(format_html("<li>{}{}</li>", who, where))
    if not parts:
        return "Nobody: no binding gives this role."
    return format_html("<ul>{}</ul>", format_html_join("", "{}", ((p,) for p in parts)))


# --- the "Check access" page ------------------------------------------------------------------


class AccessCheckForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.order_by("id"))
    subject_type = forms.ChoiceField(
        label="Subject",
        choices=[("user_name", "User (userName)"), ("service_account", "Service account")],
    )
    subject = forms.CharField(label="userName or service account name", max_length=256)
    permission = forms.ChoiceField(choices=PERMISSION_CHOICES)
    namespace = forms.CharField(
        required=False,
        max_length=MAX_LENGTH,
        validators=[validate_namespace],
        help_text="Leave empty for the tenant as a whole; a namespace includes everything "
        "below it.",
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        if "permission" in cleaned and "namespace" in cleaned:
            try:
                validate_scope(Permission.parse(cleaned["permission"]), cleaned["namespace"])
            except ValidationError as exc:
                self.add_error("namespace", exc)
        return cleaned

    def check(self) -> Check:
        data = self.cleaned_data
        return Check(
            SubjectRef(data["subject_type"], data["subject"].strip()),
            Permission.parse(data["permission"]),
            data["namespace"],
        )


def check_access_tenants(request):
    """The tenants whose access a person may check: those where they read bindings (every
    tenant, for the site administrator)."""
    scope = scope_of(request)
    tenants = Tenant.objects.order_by("id")
    if scope.site_admin:
        return tenants
    return tenants.filter(pk__in=scope.tenants_allowing(Resource.BINDINGS, Action.READ))


def access_check_view(request) -> TemplateResponse:
    """Tenant, subject, permission, namespace → allowed or not, and why."""
    form = AccessCheckForm(request.GET or None)
    form.fields["tenant"].queryset = check_access_tenants(request)
    decision = explanation = None
    if form.is_valid():
        (decision,) = check_access(tenant=form.cleaned_data["tenant"], checks=[form.check()])
        explanation = decision.explain()
        if decision.denial is Denial.NO_ACCESS and not scope_of(request).site_admin:
            # Whether a person exists outside the tenant is not this tenant's to learn.
            explanation = decision.explain(as_denial=Denial.UNKNOWN_SUBJECT)
    context = {
        **admin.site.each_context(request),
        "title": "Check access",
        "form": form,
        "decision": decision,
        "explanation": explanation,
        "reasons": [grant_html(grant) for grant in decision.reasons] if decision else [],
        "access_states": AccessState,
    }
    return TemplateResponse(request, "admin/kestra_iam/access_check.html", context)
