"""The decision API under `/api/v1/{tenant}/access/`: the platform asks whether a subject may do
something, what it holds, and where.

The caller is a service account of the tenant whose roles grant `BINDINGS:READ` tenant-wide
(reading who holds what is reading bindings); its own check rides in the same batch as the
checks it asks for, decided by the same engine. Views only translate: validate the input,
call `kestra_iam.rbac.engine`, render `kestra_iam.rbac.documents`.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from access import serializers as io
from access.authentication import ServiceAccountTokenAuthentication
from access.errors import access_exception_handler
from kestra_iam.permissions import Action, Permission, Resource
from kestra_iam.rbac.documents import (
    decision_document,
    namespaces_document,
    permissions_document,
)
from kestra_iam.rbac.engine import Check, check_access, subject_namespaces, subject_permissions
from kestra_iam.rbac.policy import SubjectRef

CALLER_NEEDS = Permission(Resource.BINDINGS, Action.READ)
ERRORS = {status: io.ErrorSerializer for status in (400, 401, 403, 503)}
SUBJECT_PARAMETERS = [
    OpenApiParameter("user", str, description="A user's id (UUID)."),
    OpenApiParameter("userName", str, description="A user's userName (any case)."),
    OpenApiParameter("serviceAccount", str, description="A service account's name."),
]


class AccessView(APIView):
    authentication_classes = [ServiceAccountTokenAuthentication]
    permission_classes: list = []  # the caller's grant is checked with its batch (`decide`)
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self):
        return access_exception_handler

    @property
    def tenant(self):
        return self.request.auth.tenant

    def caller_check(self) -> Check:
        return Check(
            SubjectRef("service_account", self.request.auth.service_account.name), CALLER_NEEDS
        )

    def decide(self, checks: list[Check]):
        """The checks' decisions, after the caller's own (in the same batch)."""
        caller, *decisions = check_access(tenant=self.tenant, checks=[self.caller_check(), *checks])
        self.refuse_unless(caller.allowed)
        return decisions

    def refuse_unless(self, allowed: bool) -> None:
        if not allowed:
            raise PermissionDenied(
                f"The service account {self.request.auth.service_account.name!r} needs "
                f"{CALLER_NEEDS} in tenant {self.tenant.pk!r} (a tenant-wide binding of a role "
                "that grants it) to ask for access decisions."
            )

    def query(self, serializer_class):
        serializer = serializer_class(data=self.request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class ChecksView(AccessView):
    @extend_schema(
        operation_id="access_check",
        summary="Decide a batch of checks",
        description="For each {subject, permission, namespace}: allowed or not, and why — the "
        "bindings, groups or default role that grant it, or the reason it is denied. At most "
        "1000 checks per request; answered from the current state of the IAM.",
        request=io.CheckRequestSerializer,
        responses={200: io.CheckResponseSerializer, **ERRORS},
    )
    def post(self, request, tenant_id: str):
        body = io.CheckRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decisions = self.decide(body.validated_data["checks"])
        return Response({"results": [decision_document(d) for d in decisions]})


class PermissionsView(AccessView):
    @extend_schema(
        operation_id="access_permissions",
        summary="Everything a subject holds",
        description="The subject's effective permissions, tenant-wide first, then by namespace, "
        "each with the grants it comes from. Empty unless the subject's access is active.",
        parameters=SUBJECT_PARAMETERS,
        responses={200: io.PermissionsResponseSerializer, **ERRORS, 404: io.ErrorSerializer},
    )
    def get(self, request, tenant_id: str):
        subject = self.query(io.SubjectQuerySerializer)
        self.decide([])
        return Response(
            permissions_document(subject_permissions(tenant=self.tenant, subject=subject))
        )


class NamespacesView(AccessView):
    @extend_schema(
        operation_id="access_namespaces",
        summary="Where a subject holds a permission",
        description="Either the whole tenant, or the smallest list of namespaces (each with "
        "everything below it) in which the subject holds the permission.",
        parameters=[
            *SUBJECT_PARAMETERS,
            OpenApiParameter("permission", str, required=True, description="RESOURCE:ACTION."),
        ],
        responses={200: io.NamespacesResponseSerializer, **ERRORS, 404: io.ErrorSerializer},
    )
    def get(self, request, tenant_id: str):
        subject, permission = self.query(io.NamespacesQuerySerializer)
        self.decide([])
        where = subject_namespaces(tenant=self.tenant, subject=subject, permission=permission)
        return Response(namespaces_document(where, str(permission)))
