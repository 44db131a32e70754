"""The calendar page: connected only after a real login to Radicale, errors at the field (never
a 500), the password encrypted and never shown, the freshness of the busy times in words."""

from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appointments.calendars import sync
from appointments.calendars.models import BusyTime, CalendarConnection
from appointments.tests import caldav_helpers as phone
from appointments.tests.conftest import CALDAV_PASSWORD, CALDAV_USER, at

URL = reverse("appointments:calendar_connection")


def test_it_connects_after_testing_the_login_and_stores_the_password_encrypted(client_for, host, radicale_server):
    response = client_for(host).post(URL, {"url": radicale_server.url, "username": CALDAV_USER, "password": CALDAV_PASSWORD})
    assert response.status_code == 302
    connection = CalendarConnection.objects.get(user=host)
    # Found through the server's well-known address, then the principal's calendars.
    assert connection.calendar_url == radicale_server.calendar_url(CALDAV_USER)
    assert CALDAV_PASSWORD not in connection.password_encrypted and connection.password() == CALDAV_PASSWORD
    page = client_for(host).get(URL).content.decode()
    assert CALDAV_PASSWORD not in page and connection.password_encrypted not in page
    assert 'data-testid="calendar-state"' in page


def test_a_wrong_password_is_answered_at_the_field_and_nothing_is_saved(client_for, host, radicale_server):
    response = client_for(host).post(URL, {"url": radicale_server.url, "username": CALDAV_USER, "password": "falsch"})
    assert response.status_code == 200
    assert "password" in response.context["form"].errors
    assert not CalendarConnection.objects.exists()


def test_a_server_that_does_not_answer_is_answered_at_the_address(client_for, host, radicale_server):
    radicale_server.stop()
    response = client_for(host).post(URL, {"url": radicale_server.url, "username": CALDAV_USER, "password": CALDAV_PASSWORD})
    assert response.status_code == 200 and "url" in response.context["form"].errors
    assert not CalendarConnection.objects.exists()


def test_an_unknown_calendar_name_is_answered_at_its_field(client_for, host, radicale_server):
    response = client_for(host).post(
        URL, {"url": radicale_server.url, "username": CALDAV_USER, "password": CALDAV_PASSWORD, "calendar_name": "Urlaub"}
    )
    assert response.status_code == 200 and "calendar_name" in response.context["form"].errors


def test_the_page_says_how_fresh_the_busy_times_are(client_for, connected_host, radicale_server, day):
    phone.add_event(radicale_server, uid="termin@phone", start=at(day, 9), end=at(day, 10))
    sync.calendar_sync(connection=CalendarConnection.objects.get(user=connected_host))
    page = client_for(connected_host).get(URL).content.decode()
    assert 'data-testid="busy-count">1<' in page
    assert "not read yet" not in page and "nicht gelesen" not in page
    radicale_server.stop()
    sync.calendar_sync(connection=CalendarConnection.objects.get(user=connected_host))
    page = client_for(connected_host).get(URL).content.decode()
    assert 'data-testid="calendar-error"' in page
    assert BusyTime.objects.count() == 1  # the last known busy times keep blocking, with their age shown


def test_each_user_sees_and_disconnects_only_their_own_calendar(client_for, connected_host, charlie):
    page = client_for(charlie).get(URL).content.decode()
    assert 'data-testid="calendar-state"' not in page
    assert client_for(charlie).post(reverse("appointments:calendar_connection_disconnect")).status_code == 404
    assert client_for(connected_host).post(reverse("appointments:calendar_connection_disconnect")).status_code == 302
    assert not CalendarConnection.objects.exists()


def test_a_customer_without_login_is_sent_to_the_login(client):
    assert client.get(URL).status_code == 302


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=st.text(max_size=80), username=st.text(max_size=40), password=st.text(max_size=40), name=st.text(max_size=40))
def test_odd_input_never_causes_a_500(client_for, host, url, username, password, name):
    # Only 127.0.0.1 is ever contacted: the odd text is the path on a closed port there.
    target = f"http://127.0.0.1:9/{url}"
    response = client_for(host).post(URL, {"url": target, "username": username, "password": password, "calendar_name": name})
    assert response.status_code in (200, 302)
