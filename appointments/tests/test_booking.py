from datetime import UTC, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from appointments import services
from appointments.models import Appointment, AppointmentType
from appointments.tests.conftest import at
from appointments.tests.factories import AppointmentTypeFactory, AvailabilityFactory
from contacts.tests.factories import PersonFactory
from crm.models import Team
from crm.tests.factories import UserFactory


def book(kind, start, **kwargs):
    return services.appointment_book(
        appointment_type=kind, start=start, customer_name="Erika Mustermann", customer_email="erika@example.de", **kwargs
    )


def test_it_books_and_sends_both_sides_an_invitation(first_meeting, host, day, django_capture_on_commit_callbacks):
    person = PersonFactory(email="erika@example.de")
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(first_meeting, at(day, 10))
    assert appointment.host == host and appointment.person == person
    assert appointment.end == at(day, 10, 30) and appointment.blocked_end == at(day, 10, 40)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(["erika@example.de", host.email])
    for message in mail.outbox:
        name, content, mimetype = message.attachments[0]
        assert mimetype.startswith("text/calendar; method=REQUEST")
        assert appointment.uid in (content.decode() if isinstance(content, bytes) else content)
        assert "/appointments/manage/" in message.body or "/appointments/" in message.body


def test_a_taken_time_is_refused(first_meeting, day):
    book(first_meeting, at(day, 10))
    with pytest.raises(services.SlotTaken):
        book(first_meeting, at(day, 10))
    # The buffer after the first appointment (10:30-10:40) blocks 10:30 as well.
    with pytest.raises(services.SlotTaken):
        book(first_meeting, at(day, 10, 30))


def test_the_database_check_refuses_overlaps_even_without_the_slot_check(first_meeting, day):
    book(first_meeting, at(day, 10))
    with pytest.raises(services.SlotTaken):
        book(first_meeting, at(day, 10, 15), check_slots=False)
    assert Appointment.objects.count() == 1


def test_a_time_outside_the_working_hours_is_refused(first_meeting, day):
    with pytest.raises(services.SlotTaken):
        book(first_meeting, at(day, 20))


def test_round_robin_takes_turns_and_first_free_takes_the_first(db, day):
    first, second = UserFactory(username="erste"), UserFactory(username="zweite")
    for user in (first, second):
        AvailabilityFactory(user=user)
    team = Team.objects.create(name="Beratung")
    team.members.add(first, second)
    kind = AppointmentTypeFactory(host_user=None, host_team=team, min_notice=0, slot_interval=60, buffer_after=0)
    hosts = [book(kind, at(day, hour)).host for hour in (9, 10, 11, 12)]
    assert hosts.count(first) == 2 and hosts.count(second) == 2 and hosts[0] != hosts[1]
    kind.assignment = AppointmentType.Assignment.FIRST_FREE
    kind.save()
    assert book(kind, at(day, 14)).host == min((first, second), key=lambda u: u.pk)
    # Both at the same time: the second booking goes to the other member, a third finds nobody.
    book(kind, at(day, 15))
    book(kind, at(day, 15))
    with pytest.raises(services.SlotTaken):
        book(kind, at(day, 15))


def test_reschedule_raises_the_sequence_and_cancel_frees_the_time(first_meeting, day, django_capture_on_commit_callbacks):
    appointment = book(first_meeting, at(day, 10))
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_reschedule(appointment=appointment, start=at(day, 14))
    appointment.refresh_from_db()
    assert appointment.start == at(day, 14) and appointment.sequence == 1
    book(first_meeting, at(day, 10))  # the old time is free again
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = services.appointment_cancel(appointment=appointment)
    assert cancelled.status == "cancelled" and cancelled.sequence == 2
    assert all("method=CANCEL" in m.attachments[0][2] for m in mail.outbox)
    book(first_meeting, at(day, 14))


def test_public_page_books_in_german_and_confirms(client, first_meeting, day):
    url = reverse("appointments:public_book", args=[services.booking_token(appointment_type=first_meeting)])
    page = client.get(url, {"lang": "de", "tz": "Europe/Berlin", "from": day.isoformat()})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Termin buchen" in html and ">10:00<" in html
    slot = at(day, 10).astimezone(UTC).isoformat()
    response = client.post(url, {"lang": "de", "tz": "Europe/Berlin", "slot": slot, "name": "Erika Mustermann", "email": "erika@example.de", "note": "Rückruf"})
    assert response.status_code == 302
    done = client.get(response["Location"])
    assert "Ihr Termin ist gebucht" in done.content.decode()
    assert Appointment.objects.get().note == "Rückruf"


def test_public_page_tells_the_loser_kindly_and_shows_fresh_times(client, first_meeting, day):
    book(first_meeting, at(day, 10))
    url = reverse("appointments:public_book", args=[services.booking_token(appointment_type=first_meeting)])
    response = client.post(url, {"lang": "en", "tz": "Europe/Berlin", "slot": at(day, 10).isoformat(), "name": "Max", "email": "max@example.de"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "this time was just taken" in html
    assert at(day, 10).astimezone(UTC).isoformat() not in html
    assert at(day, 11).astimezone(UTC).isoformat() in html
    assert Appointment.objects.count() == 1


def test_public_page_shows_times_in_the_customers_zone(client, first_meeting, day):
    url = reverse("appointments:public_book", args=[services.booking_token(appointment_type=first_meeting)])
    html = client.get(url, {"lang": "en", "tz": "America/New_York", "from": day.isoformat()}).content.decode()
    # 09:00 in Berlin is 03:00 in New York.
    assert ">03:00<" in html


@pytest.mark.parametrize("field", ["name", "email", "slot"])
def test_public_page_answers_bad_input_at_the_field(client, first_meeting, day, field):
    url = reverse("appointments:public_book", args=[services.booking_token(appointment_type=first_meeting)])
    data = {"lang": "en", "slot": at(day, 10).isoformat(), "name": "Max", "email": "max@example.de"}
    data[field] = "<script>x</script>" if field != "name" else ""
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Please check the marked fields" in response.content.decode() or "Please choose a time" in response.content.decode()
    assert Appointment.objects.count() == 0


def test_public_bookings_are_rate_limited_with_a_page_in_the_customers_language(client, first_meeting, day, settings):
    settings.APPOINTMENTS_BOOKING_RATE_LIMIT = 2
    url = reverse("appointments:public_book", args=[services.booking_token(appointment_type=first_meeting)])
    statuses = []
    for hour in (10, 11, 12):
        slot = at(day, hour).astimezone(UTC).isoformat()
        response = client.post(url, {"lang": "de", "tz": "Europe/Berlin", "slot": slot, "name": "Max", "email": f"max{hour}@example.de"})
        statuses.append(response.status_code)
    assert statuses == [302, 302, 429]
    html = response.content.decode()
    assert 'data-testid="too-many-requests"' in html and "Zu viele Anfragen" in html and 'lang="de"' in html
    assert Appointment.objects.count() == 2
    assert client.get(url, {"lang": "de"}).status_code == 200  # the times are still shown


def test_forged_or_unknown_links_are_404(client, first_meeting):
    token = services.booking_token(appointment_type=first_meeting)
    assert client.get(reverse("appointments:public_book", args=[token[:-2] + "xx"])).status_code == 404
    assert client.get(reverse("appointments:public_manage", args=["nonsense"])).status_code == 404
    first_meeting.is_active = False
    first_meeting.save()
    assert client.get(reverse("appointments:public_book", args=[token])).status_code == 404


def test_offer_by_email_books_with_one_click(client_for, host, first_meeting, day, django_capture_on_commit_callbacks):
    person = PersonFactory(first_name="Erika", last_name="Mustermann", email="erika@example.de")
    client = client_for(host)
    url = reverse("appointments:offer_create") + f"?person={person.pk}"
    page = client.get(url)
    assert page.status_code == 200
    choices = [value for value, _label in page.context["form"].fields["slots"].choices][:2]
    assert choices
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {
            "action": "send", "appointment_type": first_meeting.pk, "mode": "slots", "customer_name": "Erika Mustermann",
            "customer_email": "erika@example.de", "customer_time_zone": "Europe/Berlin", "language": "de", "slots": choices,
        })
    assert response.status_code == 302
    message = mail.outbox[-1]
    links = [line.split(": ", 1)[1] for line in message.body.splitlines() if "/appointments/pick/" in line]
    assert len(links) == 2
    client.logout()
    path = links[0].replace("http://localhost:8000", "")
    confirm = client.get(path)
    assert confirm.status_code == 200 and "Erika Mustermann" in confirm.content.decode()
    response = client.post(path, {"lang": "de", "name": "Erika Mustermann", "email": "erika@example.de"})
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.person == person and appointment.offer is not None
    # The same link again: the time is gone now.
    assert client.post(path, {"lang": "de", "name": "Erika Mustermann", "email": "erika@example.de"}).status_code == 409


def test_offer_link_to_booking_page(client_for, host, first_meeting, django_capture_on_commit_callbacks):
    client = client_for(host)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("appointments:offer_create"), {
            "action": "send", "appointment_type": first_meeting.pk, "mode": "link", "customer_name": "Max Muster",
            "customer_email": "max@example.de", "customer_time_zone": "Europe/Berlin", "language": "en",
        })
    assert response.status_code == 302
    assert "/appointments/book/" in mail.outbox[-1].body and "Please choose a time" in mail.outbox[-1].body


def test_customer_cancels_through_the_signed_link(client, first_meeting, day):
    appointment = book(first_meeting, at(day, 10))
    url = reverse("appointments:public_manage", args=[services.manage_token(appointment)])
    response = client.post(url, {"action": "cancel", "lang": "en"})
    assert response.status_code == 200 and "cancelled" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"


def test_customer_moves_through_the_signed_link(client, first_meeting, day):
    appointment = book(first_meeting, at(day, 10))
    url = reverse("appointments:public_manage", args=[services.manage_token(appointment)])
    response = client.post(url, {"action": "reschedule", "lang": "en", "slot": at(day, 15).isoformat()})
    assert response.status_code == 200
    appointment.refresh_from_db()
    assert appointment.start == at(day, 15) and appointment.sequence == 1
    assert timezone.now() < appointment.start - timedelta(hours=1)

