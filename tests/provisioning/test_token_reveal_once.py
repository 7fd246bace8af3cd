"""A new Secret Token is shown by exactly one request, even when several arrive at once with the
same session (two tabs, a double click, a prefetching browser)."""

import http.client
import threading
from urllib.parse import urlsplit

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse

from provisioning import reveal
from provisioning.models import ProvisioningIntegration, TokenReveal

ADD = "admin:provisioning_provisioningintegration_add"


def create(admin_client, tenant) -> str:
    data = {"name": "Entra ID", "provisioning_type": "SCIM_2_0", "tenant": tenant.pk}
    posted = admin_client.post(reverse(ADD), data)
    assert posted.status_code == 302, posted.content
    return posted["Location"]


@pytest.mark.django_db
def test_two_requests_that_both_read_the_session_first_show_it_once(admin_client, tenant):
    location = create(admin_client, tenant)
    integration = ProvisioningIntegration.objects.get()
    key = location.split("key=", 1)[1]
    session_key = admin_client.cookies["sessionid"].value
    # Each request loads the session before the other has saved it: both hold the sealed token.
    first, second = SessionStore(session_key), SessionStore(session_key)
    first.load(), second.load()
    opened = [reveal.unseal(s, integration_id=integration.pk, key=key) for s in (first, second)]
    assert [o is not None for o in opened] == [True, False]
    assert not TokenReveal.objects.exists()


# On SQLite the live server's threads share the test's one in-memory connection, so parallel
# requests there would test that sharing, not the service.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_page_loads_over_http_show_it_once(admin_client, tenant, live_server):
    location = create(admin_client, tenant)
    cookie = f"sessionid={admin_client.cookies['sessionid'].value}"
    address = urlsplit(live_server.url)
    start, answers = threading.Barrier(6), []

    def load():
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        start.wait()
        connection.request("GET", location, headers={"Cookie": cookie})
        response = connection.getresponse()
        answers.append((response.status, response.read()))
        connection.close()

    threads = [threading.Thread(target=load) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(status for status, _ in answers) == [200, 410, 410, 410, 410, 410]
    shown = [body for status, body in answers if status == 200]
    assert b"kiam_" in shown[0]
