"""What the decision API reads and answers, as DRF serializers: they validate the input (each
error names its field, `checks[3].permission`) and describe both sides in the OpenAPI
document. The answers themselves are built by `kestra_iam.rbac.documents`, the same shape the
commands print."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from kestra_iam.permissions import Permission
from kestra_iam.rbac.engine import MAX_CHECKS, Check, validate_scope
from kestra_iam.rbac.policy import SubjectRef


class SubjectSerializer(serializers.Serializer):
    """Exactly one of: a user's id, a user's userName (any case), a service account's name."""

    user = serializers.CharField(required=False, help_text="A user's id (UUID).")
    userName = serializers.CharField(required=False, help_text="A user's userName, any case.")
    serviceAccount = serializers.CharField(
        required=False, help_text="The name of a service account of the tenant."
    )

    KINDS = {"user": "user_id", "userName": "user_name", "serviceAccount": "service_account"}
    ONE_OF = "Name the subject with exactly one of user, userName or serviceAccount."

    def validate(self, data: dict) -> SubjectRef:
        return self.subject_ref(data)

    @classmethod
    def subject_ref(cls, names: dict) -> SubjectRef:
        """The one subject `names` (already text) name; a ValidationError unless exactly one."""
        given = [name for name in cls.KINDS if names.get(name) not in (None, "")]
        if len(given) != 1:
            raise serializers.ValidationError(cls.ONE_OF)
        return SubjectRef(cls.KINDS[given[0]], names[given[0]])


class PermissionField(serializers.CharField):
    """RESOURCE:ACTION, e.g. FLOWS:UPDATE (Kestra's singular names accepted)."""

    def to_internal_value(self, data) -> Permission:
        try:
            return Permission.parse(super().to_internal_value(data))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class CheckSerializer(serializers.Serializer):
    """One check. The fields describe it (for the OpenAPI document and the error keys);
    `to_internal_value` applies the same rules directly: a batch holds up to 1,000 checks, and
    DRF's field-by-field machinery cost more than deciding them (make bench's access scenario).
    """

    subject = SubjectSerializer()
    permission = PermissionField(help_text="RESOURCE:ACTION, e.g. FLOWS:UPDATE.")
    namespace = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        default="",
        help_text="Where: the namespace and everything below it. Leave out to ask about the "
        "tenant as a whole (the only place tenant-level resources such as USERS live).",
    )

    REQUIRED = serializers.Field.default_error_messages["required"]
    NOT_A_STRING = serializers.CharField.default_error_messages["invalid"]
    NOT_AN_OBJECT = serializers.Serializer.default_error_messages["invalid"]

    def to_internal_value(self, data) -> Check:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": [self.NOT_AN_OBJECT.format(datatype=type(data).__name__)]}
            )
        errors: dict[str, list[str]] = {}
        subject = self._subject(data.get("subject"), errors)
        permission = self._permission(data.get("permission"), errors)
        namespace = _text(data.get("namespace")) if data.get("namespace") is not None else ""
        if namespace is None:
            errors["namespace"] = [self.NOT_A_STRING]
        elif permission is not None:
            try:
                validate_scope(permission, namespace)
            except DjangoValidationError as exc:
                errors["namespace"] = exc.messages
        if errors:
            raise serializers.ValidationError(errors)
        return Check(subject, permission, namespace)

    def validate(self, check: Check) -> Check:
        return check

    def _subject(self, raw, errors: dict) -> SubjectRef | None:
        if raw is None:
            errors["subject"] = [self.REQUIRED]
            return None
        if not isinstance(raw, dict):
            errors["subject"] = {
                "non_field_errors": [self.NOT_AN_OBJECT.format(datatype=type(raw).__name__)]
            }
            return None
        values = {
            name: _text(raw[name]) for name in SubjectSerializer.KINDS if raw.get(name) is not None
        }
        wrong = [name for name, value in values.items() if value is None]
        if wrong:
            errors["subject"] = {name: [self.NOT_A_STRING] for name in wrong}
            return None
        try:
            return SubjectSerializer.subject_ref(values)
        except serializers.ValidationError:
            errors["subject"] = {"non_field_errors": [SubjectSerializer.ONE_OF]}
            return None

    def _permission(self, raw, errors: dict) -> Permission | None:
        if raw is None:
            errors["permission"] = [self.REQUIRED]
            return None
        text = _text(raw)
        if text is None:
            errors["permission"] = [self.NOT_A_STRING]
            return None
        try:
            return Permission.parse(text)
        except DjangoValidationError as exc:
            errors["permission"] = exc.messages
            return None


def _text(value) -> str | None:
    """What DRF's CharField makes of a value (a string, a number; trimmed), None if not text."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value).strip()


class CheckRequestSerializer(serializers.Serializer):
    checks = CheckSerializer(many=True, allow_empty=False, max_length=MAX_CHECKS)


class SubjectQuerySerializer(SubjectSerializer):
    """The subject of a GET, from its query string."""


class NamespacesQuerySerializer(SubjectSerializer):
    permission = PermissionField(help_text="RESOURCE:ACTION, e.g. FLOWS:UPDATE.")

    def validate(self, data: dict):
        return super().validate(data), data["permission"]


# --- the answers, for the OpenAPI document ------------------------------------------------------


class RoleRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class GroupRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    displayName = serializers.CharField()


class ReasonSerializer(serializers.Serializer):
    source = serializers.ChoiceField(
        choices=["binding", "group", "defaultRole"],
        help_text="binding: the subject's own; group: a binding of a group it is in; "
        "defaultRole: the tenant's default role.",
    )
    role = RoleRefSerializer()
    namespace = serializers.CharField(
        allow_null=True, help_text="The binding's namespace; null: the whole tenant."
    )
    bindingId = serializers.IntegerField(required=False)
    group = GroupRefSerializer(required=False)
    text = serializers.CharField(help_text="The same, in words.")


class SubjectAnswerSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["user", "serviceAccount"])
    id = serializers.CharField()
    userName = serializers.CharField(required=False)
    name = serializers.CharField(required=False)
    access = serializers.ChoiceField(
        choices=["active", "disabled", "none"],
        required=False,
        help_text="A user's access to the tenant; only active access holds permissions.",
    )


class DenialSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=["unknown_subject", "no_access", "access_disabled", "not_granted"]
    )
    text = serializers.CharField()


class DecisionSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    permission = serializers.CharField()
    namespace = serializers.CharField(allow_null=True)
    subject = SubjectAnswerSerializer(allow_null=True)
    reasons = ReasonSerializer(many=True, help_text="Every grant that allows it; empty if denied.")
    denial = DenialSerializer(allow_null=True)


class CheckResponseSerializer(serializers.Serializer):
    results = DecisionSerializer(many=True, help_text="One per check, in the order asked.")


class EffectiveSerializer(serializers.Serializer):
    namespace = serializers.CharField(
        allow_null=True, help_text="null: everywhere in the tenant; else this namespace and below."
    )
    permission = serializers.CharField()
    reasons = ReasonSerializer(many=True)


class PermissionsResponseSerializer(serializers.Serializer):
    subject = SubjectAnswerSerializer()
    permissions = EffectiveSerializer(many=True)


class NamespacesResponseSerializer(serializers.Serializer):
    subject = SubjectAnswerSerializer()
    permission = serializers.CharField()
    tenantWide = serializers.BooleanField(help_text="Held everywhere in the tenant.")
    namespaces = serializers.ListField(
        child=serializers.CharField(),
        help_text="Otherwise, the namespaces where it is held (each with everything below it).",
    )
    reasons = ReasonSerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Per field, for invalid input: `checks[3].permission`, …",
    )
