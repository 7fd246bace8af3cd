"""Discovery advertises exactly what the service does, from the definitions the code uses."""

import pytest

from scim.quirks import advertised_attributes
from scim.schema import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA

pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_service_provider_config(scim):
    body = scim.get("/ServiceProviderConfig").json()
    assert body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert body["patch"] == {"supported": True}
    assert body["bulk"]["supported"] is False
    assert body["filter"] == {"supported": True, "maxResults": 200}
    assert body["sort"] == {"supported": True} and body["etag"] == {"supported": True}
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert body["meta"]["location"].endswith("/scim/v2/ServiceProviderConfig")


def test_resource_types(scim):
    body = scim.get("/ResourceTypes").json()
    assert [(r["id"], r["endpoint"], r["schema"]) for r in body["Resources"]] == [
        ("User", "/Users", "urn:ietf:params:scim:schemas:core:2.0:User"),
        ("Group", "/Groups", "urn:ietf:params:scim:schemas:core:2.0:Group"),
    ]
    assert body["Resources"][0]["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert scim.get("/ResourceTypes/User").json()["name"] == "User"
    assert scim.get("/ResourceTypes/Nope").status_code == 404


def test_schemas_are_the_code_definitions(scim):
    body = scim.get("/Schemas").json()
    assert body["totalResults"] == 3
    served = {s["id"]: s for s in body["Resources"]}
    for schema in (USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_SCHEMA):
        assert [a["name"] for a in served[schema.id]["attributes"]] == [
            a.name for a in advertised_attributes(schema)
        ]
    # Microsoft's app-gallery validation wants externalId named by the core schemas.
    for schema in (USER_SCHEMA, GROUP_SCHEMA):
        assert served[schema.id]["attributes"][0]["name"] == "externalId"
    assert "externalId" not in [a["name"] for a in served[ENTERPRISE_SCHEMA.id]["attributes"]]
    user = served["urn:ietf:params:scim:schemas:core:2.0:User"]
    user_name = next(a for a in user["attributes"] if a["name"] == "userName")
    assert (user_name["caseExact"], user_name["uniqueness"], user_name["required"]) == (
        False,
        "server",
        True,
    )
    password = next(a for a in user["attributes"] if a["name"] == "password")
    assert (password["returned"], password["mutability"]) == ("never", "writeOnly")
    addresses = next(a for a in user["attributes"] if a["name"] == "addresses")
    assert "primary" in [s["name"] for s in addresses["subAttributes"]]
    display_name = next(
        a for a in served[GROUP_SCHEMA.id]["attributes"] if a["name"] == "displayName"
    )
    assert display_name["uniqueness"] == "server"
    # No nulls anywhere, as Entra's schema discovery requires.
    assert "null" not in scim.get("/Schemas").content.decode()


def test_schema_by_id(scim):
    assert scim.get(f"/Schemas/{ENTERPRISE}").json()["id"] == ENTERPRISE
    assert scim.get("/Schemas/urn:nope").status_code == 404


@pytest.mark.parametrize("path", ["/Bulk", "/Me", "/Me/anything"])
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_bulk_and_me_are_501(scim, path, method):
    response = (
        getattr(scim, method)(path)
        if method in ("get", "delete")
        else getattr(scim, method)(path, {})
    )
    assert response.status_code == 501
    assert response.json()["status"] == "501"


@pytest.mark.parametrize("path", ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"])
def test_discovery_is_read_only(scim, path):
    for method in ("post", "put", "patch"):
        response = getattr(scim, method)(path, {})
        assert response.status_code == 405 and response.json()["status"] == "405"
    assert scim.delete(path).status_code == 405
