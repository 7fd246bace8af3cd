"""Every error under the base URL is a SCIM Error; every response is application/scim+json."""

import pytest

pytestmark = pytest.mark.django_db

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def assert_scim_error(response, status, scim_type=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/scim+json"
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert isinstance(body["detail"], str) and body["detail"]
    if scim_type is not None:
        assert body["scimType"] == scim_type
    return body


@pytest.mark.parametrize(
    "path", ["/nope", "/Users/a/b", "/Groupz", "", "/", "//Users/x/y", "/Users/.search/x"]
)
def test_unknown_paths_under_the_base_url_are_404(scim, path):
    assert_scim_error(scim.get(path), 404)


def test_base_url_with_doubled_slash_still_works(scim):
    response = scim.get("//Users")
    assert response.status_code == 200
    assert scim.get("/Users/").status_code == 200


@pytest.mark.parametrize(
    "method, path",
    [
        ("put", "/Users"),
        ("patch", "/Users"),
        ("delete", "/Users"),
        ("post", "/Users/00000000-0000-0000-0000-000000000000"),
        ("get", "/Users/.search"),
        ("put", "/Groups"),
    ],
)
def test_wrong_methods_are_405(scim, method, path):
    call = getattr(scim, method)
    response = call(path) if method in ("get", "delete") else call(path, {})
    assert_scim_error(response, 405)


@pytest.mark.parametrize(
    "body",
    ["{", '{"userName": "a",}', "[1, 2", "nul", '{"userName": NaN}', "", "   ", "\xff\xfe"],
)
def test_malformed_json_is_invalid_syntax(scim, body):
    assert_scim_error(scim.post("/Users", body.encode("latin-1")), 400, "invalidSyntax")


@pytest.mark.parametrize("body", ["null", "[]", '"text"', "42"])
def test_json_that_is_not_an_object(scim, body):
    response = scim.post("/Users", body)
    assert response.status_code == 400 and response.json()["scimType"] in (
        "invalidValue",
        "invalidSyntax",
    )


def test_deeply_nested_json_is_refused(scim):
    assert_scim_error(scim.post("/Users", "[" * 10000 + "]" * 10000), 400, "invalidSyntax")


def test_bom_prefixed_json_is_read(scim):
    response = scim.post("/Users", '\ufeff{"userName": "bom@example.com"}'.encode())
    assert response.status_code == 201


@pytest.mark.parametrize(
    "content_type",
    [
        "application/scim+json",
        "application/scim+json; charset=utf-8",
        "application/json",
        "application/json; charset=UTF-8",
    ],
)
def test_accepted_content_types(scim, content_type):
    response = scim.post(
        "/Users", {"userName": f"{content_type[:10]}@example.com"}, content_type=content_type
    )
    assert response.status_code == 201


def test_missing_content_type_is_read_as_json(scim):
    response = scim.client.generic(
        "POST", scim.url("/Users"), b'{"userName": "bare@example.com"}', content_type=""
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"]
)
def test_other_content_types_are_415(scim, content_type):
    assert_scim_error(scim.post("/Users", '{"userName": "x"}', content_type=content_type), 415)


def test_get_without_accept_or_user_agent_is_answered_in_scim_json(scim):
    response = scim.client.get(scim.url("/Users"), HTTP_ACCEPT="application/xml")
    assert response.status_code == 200 and response["Content-Type"] == "application/scim+json"


def test_body_over_the_limit_is_413_before_parsing(scim):
    body = '{"userName": "x", "title": "' + "x" * (1024 * 1024) + '"}'
    assert_scim_error(scim.post("/Users", body), 413)


@pytest.mark.parametrize("path", ["/Users", "/Groups", "/.search", "/Users/.search"])
def test_a_post_without_a_body_is_invalid_syntax(scim, path):
    assert_scim_error(scim.client.post(scim.url(path)), 400, "invalidSyntax")


def test_an_unexpected_error_is_a_generic_scim_500(scim, monkeypatch):
    """Internals never reach the client: the body says only that the error was logged."""
    from scim import resources

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(resources, "scim_user_list", boom)
    monkeypatch.setattr("scim.exceptions.logger.exception", lambda *a, **k: None)
    response = scim.get("/Users")
    assert_scim_error(response, 500)
    assert "boom" not in response.content.decode()
