"""An HTTP client that talks to a live server exactly as Microsoft Entra ID does.

Requests go over real HTTP with only the headers Entra sends: `Authorization` always, and
`Content-Type: application/scim+json; charset=utf-8` with a body — no Accept, no User-Agent.
In flag mode (`?aadOptscim062020` typed at the end of the Tenant URL), the flag's query string
is sent on every request, as it would be if Entra forwarded it.
"""

import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

FLAG = "aadOptscim062020"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class EntraResponse:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body) if self.body else None


class EntraClient:
    def __init__(self, base_url: str, token: str, mode: str) -> None:
        self.base = urlsplit(base_url)
        self.token = token
        self.mode = mode
        self.flag = mode == "flag"

    def request(
        self, method: str, path: str, body=None, *, headers: dict | None = None
    ) -> EntraResponse:
        target = self.base.path + path
        if self.flag:
            target += ("&" if "?" in target else "?") + FLAG
        connection = http.client.HTTPConnection(self.base.hostname, self.base.port, timeout=30)
        try:
            connection.putrequest(method, target, skip_accept_encoding=True)
            connection.putheader("Authorization", f"Bearer {self.token}")
            payload = None
            if body is not None:
                payload = json.dumps(body).encode()
                connection.putheader("Content-Type", "application/scim+json; charset=utf-8")
                connection.putheader("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                connection.putheader(name, value)
            connection.endheaders(payload)
            response = connection.getresponse()
            return EntraResponse(response.status, dict(response.getheaders()), response.read())
        finally:
            connection.close()

    def get(self, path: str) -> EntraResponse:
        return self.request("GET", path)

    def post(self, path: str, body) -> EntraResponse:
        return self.request("POST", path, body)

    def delete(self, path: str) -> EntraResponse:
        return self.request("DELETE", path)

    def patch(self, path: str, *operations, schemas_last: bool = False) -> EntraResponse:
        body = {"schemas": [PATCH_OP], "Operations": list(operations)}
        if schemas_last:
            body = {"Operations": list(operations), "schemas": [PATCH_OP]}
        return self.request("PATCH", path, body)

    def op(self, name: str) -> str:
        """Entra capitalises ops by default and lowercases them with the flag."""
        return name.lower() if self.flag else name.capitalize()
