from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, AppointmentType
from appointments.tests.conftest import at
from appointments.tests.factories import AppointmentFactory
from contacts.tests.factories import PersonFactory
from crm import search


@pytest.fixture
def appointment(first_meeting, host, day):
    person = PersonFactory(first_name="Erika", last_name="Mustermann", email="erika@example.de")
    return AppointmentFactory(appointment_type=first_meeting, host=host, start=at(day, 10), person=person, customer_name="Erika Mustermann")


@pytest.fixture
def past(first_meeting, host):
    return AppointmentFactory(appointment_type=first_meeting, host=host, start=timezone.now() - timedelta(hours=2))


def test_host_teammate_and_outsider_read_the_appointment(client_for, appointment, host, bob, charlie, nobody):
    for user in (host, bob, charlie):
        assert client_for(user).get(appointment.get_absolute_url()).status_code == 200
    assert client_for(nobody).get(appointment.get_absolute_url()).status_code == 403


def test_only_host_manager_and_admin_may_cancel(client_for, appointment, host, bob, manager, charlie, admin_user):
    url = reverse("appointments:appointment_cancel", args=[appointment.pk])
    for outsider in (bob, charlie):
        assert client_for(outsider).post(url).status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    assert client_for(manager).post(url).status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"


def test_outcome_is_recorded_after_the_start_only(client_for, appointment, past, host, charlie):
    client = client_for(host)
    client.post(reverse("appointments:appointment_outcome", args=[appointment.pk]), {"status": "held"})
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    client.post(reverse("appointments:appointment_outcome", args=[past.pk]), {"status": "no_show"})
    past.refresh_from_db()
    assert past.status == "no_show"
    assert client_for(charlie).post(reverse("appointments:appointment_outcome", args=[past.pk]), {"status": "held"}).status_code == 403


def test_list_and_calendars_use_a_constant_number_of_queries(client_for, host, first_meeting, day, django_assert_max_num_queries, manager):
    client = client_for(host)
    urls = [
        reverse("appointments:appointment_list"),
        reverse("appointments:calendar") + f"?view=week&date={day.isoformat()}",
        reverse("appointments:team_calendar") + f"?view=week&date={day.isoformat()}",
        reverse("appointments:team_calendar") + f"?view=day&date={day.isoformat()}",
    ]
    counts = {}
    for rows in (1, 12):
        for hour in range(9, 9 + rows if rows == 1 else 17):
            if not Appointment.objects.filter(start=at(day, hour)).exists():
                AppointmentFactory(appointment_type=first_meeting, host=host, start=at(day, hour))
        for url in urls:
            with django_assert_max_num_queries(30) as captured:
                assert client.get(url).status_code == 200
            counts.setdefault(url, []).append(len(captured))
    for url, (few, many) in counts.items():
        assert many <= few, f"{url}: {few} queries with one appointment, {many} with many"


def test_calendar_shows_the_appointment_in_its_hour(client_for, appointment, host, day):
    html = client_for(host).get(reverse("appointments:calendar") + f"?view=day&date={day.isoformat()}").content.decode()
    assert "Erika Mustermann" in html


def test_types_are_changed_by_their_host_or_managers_only(client_for, host, bob, manager, first_meeting):
    url = reverse("appointments:type_update", args=[first_meeting.pk])
    assert client_for(bob).get(url).status_code == 403
    assert client_for(manager).get(url).status_code == 200
    response = client_for(host).post(url, {
        "name": "Erstgespräch 45 Min", "duration": "45", "buffer_before": "0", "buffer_after": "10", "slot_interval": "15",
        "location_kind": "video", "min_notice": "60", "max_days_ahead": "30", "host_user": host.pk, "assignment": "round_robin",
        "reminder_offsets": "60, 1440", "is_active": "on",
    })
    assert response.status_code == 302
    first_meeting.refresh_from_db()
    assert first_meeting.duration == 45 and first_meeting.reminder_offsets == [1440, 60]


@pytest.mark.parametrize(("field", "value"), [("reminder_offsets", "morgen"), ("duration", "0"), ("host_user", "")])
def test_type_form_answers_bad_input_at_the_field(client_for, host, field, value):
    data = {"name": "Beratung", "duration": "30", "buffer_before": "0", "buffer_after": "0", "slot_interval": "15",
            "location_kind": "phone", "min_notice": "0", "max_days_ahead": "30", "host_user": host.pk, "assignment": "round_robin",
            "reminder_offsets": "60"}
    data[field] = value
    response = client_for(host).post(reverse("appointments:type_create"), data)
    assert response.status_code == 200
    assert not AppointmentType.objects.filter(name="Beratung").exists()


def test_a_rep_cannot_make_a_colleague_host(client_for, host, bob):
    response = client_for(host).post(reverse("appointments:type_create"), {
        "name": "Fremd", "duration": "30", "buffer_before": "0", "buffer_after": "0", "slot_interval": "15",
        "location_kind": "phone", "min_notice": "0", "max_days_ahead": "30", "host_user": bob.pk, "assignment": "round_robin",
    })
    assert response.status_code == 200 and not AppointmentType.objects.filter(name="Fremd").exists()


def test_availability_saves_hours_and_exceptions(client_for, host, first_meeting, day):
    client = client_for(host)
    url = reverse("appointments:availability_edit")
    page = client.get(url)
    assert page.status_code == 200 and host.availability.feed_token in page.content.decode()
    response = client.post(url, {
        "action": "exception", "x-kind": "absence", "x-start": f"{day.isoformat()}T09:00", "x-end": f"{day.isoformat()}T08:00",
    })
    assert response.status_code == 200 and "The end must be after the start." in response.content.decode()
    response = client.post(url, {
        "action": "exception", "x-kind": "absence", "x-start": f"{day.isoformat()}T00:00", "x-end": f"{day.isoformat()}T23:59",
    })
    assert response.status_code == 302
    assert host.availability_exceptions.count() == 1


def test_a_rep_cannot_edit_a_colleagues_availability_but_the_manager_can(client_for, host, bob, manager):
    url = reverse("appointments:availability_edit") + f"?user={host.pk}"
    assert client_for(bob).get(url).status_code == 403
    assert client_for(manager).get(url).status_code == 200


def test_person_page_shows_the_panel_the_offer_button_and_the_timeline(client_for, appointment, host):
    html = client_for(host).get(appointment.person.get_absolute_url()).content.decode()
    assert reverse("appointments:offer_create") + f"?person={appointment.person.pk}" in html
    assert appointment.get_absolute_url() in html
    assert "Erstgespräch 30 Min" in html


def test_global_search_finds_appointments_for_crm_users_only(appointment, host, nobody):
    groups = search.search(host, "Mustermann")
    assert any(provider.kind == "appointments" and hits[0].obj == appointment for provider, hits in groups)
    assert search.search(nobody, "Mustermann") == []


def test_offer_regarding_another_apps_record_needs_a_visible_record(client_for, host):
    assert client_for(host).get(reverse("appointments:offer_create") + "?regarding=contacts.person:999999").status_code == 404
    assert client_for(host).get(reverse("appointments:offer_create") + "?regarding=nope.nothing:1").status_code == 404
