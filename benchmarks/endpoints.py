"""A SCIM endpoint under load: which server, which base path, which token."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

from benchmarks import load
from benchmarks.servers import Server, cpu_seconds

HOST = "127.0.0.1"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Endpoint:
    name: str
    server: Server
    base: str  # the SCIM base path
    token: str

    def run(self, label: str, make_request, **options) -> load.Result:
        before = cpu_seconds(self.server.pids())
        result = load.run(
            f"{label} ({self.name})",
            HOST,
            self.server.port,
            lambda _worker: self.token,
            make_request,
            **options,
        )
        result.server_cpu = cpu_seconds(self.server.pids()) - before
        return result

    def client(self) -> load.Client:
        return load.Client(HOST, self.server.port, self.token)

    def create(self, path: str, body: dict) -> dict:
        status, data, _ = self.client().send("POST", self.base + path, body)
        if status != 201:
            raise SystemExit(f"{self.name}: POST {path} answered {status}: {data[:300]!r}")
        return json.loads(data)


def entra_user(user_name: str, external_id: str) -> dict:
    """The body Microsoft Entra ID POSTs for a new user."""
    given, family = "Given", user_name.split("@", 1)[0]
    return {
        "schemas": [USER_SCHEMA],
        "externalId": external_id,
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "name": {"formatted": f"{given} {family}", "familyName": family, "givenName": given},
    }


def patch(op: str, path: str, value) -> dict:
    return {"schemas": [PATCH_OP], "Operations": [{"op": op, "path": path, "value": value}]}


def filtered(path: str, expression: str) -> str:
    return f"{path}?filter={quote(expression)}"
