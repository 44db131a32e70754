"""The address book page: connected only after a real login to Radicale, errors at the field
(never a 500), the password encrypted and never shown, the state of the push in words, each
user sees and changes only their own, and a user without a CRM role gets 403."""

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.addressbooks import sync
from contacts.addressbooks.models import AddressBookConflict, AddressBookConnection
from contacts.tests import carddav_phone as phone
from contacts.tests.factories import PersonFactory

URL = reverse("contacts:addressbook")


def form(server, **extra):
    return {"url": server.url, "username": phone.CARDDAV_USER, "password": phone.CARDDAV_PASSWORD,
            "addressbook_name": "CRM", "scope": "all", **extra}


def test_it_connects_after_testing_the_login_and_stores_the_password_encrypted(
    client_for, alice, carddav_server, django_capture_on_commit_callbacks
):
    PersonFactory(first_name="Jörg", last_name="Bäumer")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(URL, form(carddav_server))
    assert response.status_code == 302
    connection = AddressBookConnection.objects.get(user=alice)
    # Found through the server's well-known address, then the principal's address book home
    # (Radicale has no address book yet: the CRM made "CRM").
    assert connection.addressbook_url == phone.book_url(carddav_server)
    assert phone.CARDDAV_PASSWORD not in connection.password_encrypted and connection.password() == phone.CARDDAV_PASSWORD
    # The first push ran after the commit (Celery is eager in the tests).
    assert [c.fn.value for c in phone.cards(carddav_server).values()] == ["Jörg Bäumer"]
    page = client_for(alice).get(URL).content.decode()
    assert phone.CARDDAV_PASSWORD not in page and connection.password_encrypted not in page
    assert 'data-testid="addressbook-state"' in page and 'data-testid="count-pushed">1<' in page


def test_a_wrong_password_is_answered_at_the_field_and_nothing_is_saved(client_for, alice, carddav_server):
    response = client_for(alice).post(URL, form(carddav_server, password="falsch"))
    assert response.status_code == 200 and "password" in response.context["form"].errors
    assert not AddressBookConnection.objects.exists()


def test_a_server_that_does_not_answer_is_answered_at_the_address(client_for, alice, carddav_server):
    carddav_server.stop()
    response = client_for(alice).post(URL, form(carddav_server))
    assert response.status_code == 200 and "url" in response.context["form"].errors
    assert not AddressBookConnection.objects.exists()


def test_a_segment_scope_needs_a_segment_the_user_may_see(client_for, alice, role_users, carddav_server):
    from marketing.tests.factories import SegmentFactory

    segment = SegmentFactory(name="Stammkunden")
    response = client_for(alice).post(URL, form(carddav_server, scope="segment"))
    assert "segment" in response.context["form"].errors
    agent = role_users["support_agent"]
    response = client_for(agent).post(URL, form(carddav_server, scope="segment", segment=segment.pk))
    assert response.status_code == 200 and "segment" in response.context["form"].errors
    assert not AddressBookConnection.objects.exists()
    assert "Stammkunden" in client_for(alice).get(URL).content.decode()
    assert "Stammkunden" not in client_for(agent).get(URL).content.decode()


def test_the_page_says_when_the_server_is_down_and_when_it_is_back(client_for, alice_book, carddav_server):
    PersonFactory.create_batch(2)
    carddav_server.stop()
    sync.addressbook_push(connection_id=alice_book.pk)
    response = client_for(alice_book.user).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="addressbook-error"' in page and "did not answer" in page
    carddav_server.restart()
    sync.addressbook_push(connection_id=alice_book.pk)
    page = client_for(alice_book.user).get(URL).content.decode()
    assert 'data-testid="addressbook-error"' not in page
    assert 'data-testid="count-cards">2<' in page and 'data-testid="count-pushed">2<' in page


def test_pause_resume_and_push_now(client_for, alice_book, django_capture_on_commit_callbacks, carddav_server):
    client = client_for(alice_book.user)
    assert client.post(reverse("contacts:addressbook_pause"), {"pause": "1"}).status_code == 302
    alice_book.refresh_from_db()
    assert alice_book.is_paused
    assert "Paused" in client.get(URL).content.decode() or "Pausiert" in client.get(URL).content.decode()
    PersonFactory()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("contacts:addressbook_push"))
    assert phone.cards(carddav_server) == {}  # paused: nothing is written
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("contacts:addressbook_pause"), {"pause": "0"})
    assert len(phone.cards(carddav_server)) == 1


def test_conflicts_are_listed_by_pages_and_only_the_owner_dismisses_them(
    client_for, alice_book, bob, django_assert_max_num_queries
):
    for number in range(25):
        AddressBookConflict.objects.create(connection=alice_book, person_id=number, person_label=f"Person {number}",
                                           kind=AddressBookConflict.Kind.CHANGED_THERE, remote_card="BEGIN:VCARD\r\nFN:Handy\r\nEND:VCARD")
    client = client_for(alice_book.user)
    with django_assert_max_num_queries(14):
        page = client.get(URL).content.decode()
    assert page.count('data-testid="addressbook-conflict"') == 20
    assert client.get(URL, {"page": 2}).content.decode().count('data-testid="addressbook-conflict"') == 5
    conflict = AddressBookConflict.objects.first()
    dismiss = reverse("contacts:addressbook_conflict_dismiss", args=[conflict.pk])
    assert client_for(bob).post(dismiss).status_code == 404
    assert client_for(alice_book.user).post(dismiss).status_code == 302
    assert not AddressBookConflict.objects.filter(pk=conflict.pk).exists()


def test_each_user_sees_and_disconnects_only_their_own_address_book(client_for, alice_book, bob):
    assert 'data-testid="addressbook-state"' not in client_for(bob).get(URL).content.decode()
    for name in ("contacts:addressbook_push", "contacts:addressbook_pause", "contacts:addressbook_disconnect"):
        assert client_for(bob).post(reverse(name)).status_code == 404
    assert client_for(alice_book.user).post(reverse("contacts:addressbook_disconnect")).status_code == 302
    assert not AddressBookConnection.objects.exists()


@pytest.mark.parametrize("name", ["contacts:addressbook", "contacts:addressbook_push", "contacts:addressbook_pause",
                                  "contacts:addressbook_disconnect"])
def test_a_user_without_a_crm_role_is_refused(client_for, nobody, name):
    client = client_for(nobody)
    assert client.get(reverse(name)).status_code in (403, 405)
    assert client.post(reverse(name)).status_code == 403


def test_the_dismissal_of_a_conflict_is_refused_without_a_crm_role(client_for, alice_book, nobody):
    conflict = AddressBookConflict.objects.create(connection=alice_book, person_id=1, kind=AddressBookConflict.Kind.DELETED_THERE)
    assert client_for(nobody).post(reverse("contacts:addressbook_conflict_dismiss", args=[conflict.pk])).status_code == 403


def test_a_visitor_without_login_is_sent_to_the_login(client):
    assert client.get(URL).status_code == 302


def test_the_calendar_and_the_address_book_pages_share_one_frame(client_for, alice):
    from appointments.tests.factories import AvailabilityFactory

    AvailabilityFactory(user=alice)
    client = client_for(alice)
    for url in (URL, reverse("appointments:calendar_connection")):
        response = client.get(url)
        assert "includes/connection_page.html" in [t.name for t in response.templates]
        assert 'data-testid="breadcrumbs"' in response.content.decode()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=st.text(max_size=80), username=st.text(max_size=40), password=st.text(max_size=40), name=st.text(max_size=40),
       scope=st.sampled_from(["all", "segment", "x", ""]), segment=st.text(max_size=10))
def test_odd_input_never_causes_a_500(client_for, alice, url, username, password, name, scope, segment):
    # Only 127.0.0.1 is ever contacted: the odd text is the path on a closed port there.
    target = f"http://127.0.0.1:9/{url}"
    response = client_for(alice).post(URL, {"url": target, "username": username, "password": password,
                                            "addressbook_name": name, "scope": scope, "segment": segment})
    assert response.status_code in (200, 302)
