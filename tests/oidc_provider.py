"""A real OpenID provider on loopback for the sign-in tests: panva's oidc-provider, an OpenID
Certified implementation, run by Node.js from tests/oidc/provider (its package.json and lock
are the project's; `npm ci` installs them the first time)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc" / "provider"
CLIENT_ID = "kestra-iam-test"
CLIENT_SECRET = "a-client-secret-only-these-tests-know"


@dataclass
class OpenIDProvider:
    issuer: str
    process: subprocess.Popen

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def _post(self, path: str, body: dict) -> None:
        requests.post(self.issuer + path, json=body, timeout=10).raise_for_status()

    def add_accounts(self, accounts: dict[str, dict]) -> None:
        """{login: claims}: who may sign in at the provider, and what their tokens claim."""
        self._post("/__test/accounts", accounts)

    def tamper(self, mode: str) -> None:
        """Issue ID tokens with one thing wrong ("iss", "aud", "nonce", "exp", "signature")
        until told "" again."""
        self._post("/__test/tamper", {"mode": mode})

    def settings(self, **overrides) -> dict:
        return {
            "discovery_url": self.discovery_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scopes": "openid profile email",
            "provider_name": "Microsoft",
            "match": "userName",
            "user_name_claim": "preferred_username",
            "external_id_claim": "oid",
            **overrides,
        }


def _installed() -> None:
    if (PROVIDER_DIR / "node_modules" / "oidc-provider").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("the sign-in tests need Node.js and npm (apt-get install -y nodejs npm)")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True, timeout=300
    )


@pytest.fixture(scope="session")
def openid_provider(live_server):
    _installed()
    env = {
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URI": f"{live_server.url}/signin/oidc/callback/",
        # Another host name than the site's 127.0.0.1, so that the two keep apart cookies.
        "OP_HOST": "localhost",
    }
    process = subprocess.Popen(
        [shutil.which("node") or "node", "server.mjs"],
        cwd=PROVIDER_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline()
    if not line:
        process.kill()
        pytest.fail("the OpenID provider did not start (node tests/oidc/provider/server.mjs)")
    provider = OpenIDProvider(json.loads(line)["issuer"], process)
    yield provider
    process.terminate()
    process.wait(timeout=10)
