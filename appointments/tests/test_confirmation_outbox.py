"""Booking confirmations go through the outbox, against a real SMTP server (aiosmtpd on
127.0.0.1): a booking while the mail server is away succeeds, its invitations wait visibly on
the appointment page and arrive once, with the calendar file, when the server is back."""

from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from appointments import services
from appointments.models import Appointment
from appointments.tests.conftest import at
from crm import outbox
from crm.models import OutgoingEmail

State = OutgoingEmail.State


def test_a_booking_while_the_mail_server_is_away_is_confirmed_once_it_is_back(
    client, client_for, first_meeting, host, day, smtp_sink, django_capture_on_commit_callbacks
):
    smtp_sink.stop()
    url = reverse("appointments:public_book", args=[services.booking_token(appointment_type=first_meeting)])
    slot = at(day, 10).astimezone(UTC).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"lang": "de", "tz": "Europe/Berlin", "slot": slot, "name": "Erika Mustermann",
                                     "email": "erika@kunde-gmbh.de"})
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    emails = list(OutgoingEmail.objects.order_by("pk"))
    assert sorted(e.to for e in emails) == sorted(["erika@kunde-gmbh.de", host.email])
    assert all(e.state == State.QUEUED and e.regarding == appointment for e in emails)

    page = client_for(host).get(appointment.get_absolute_url()).content.decode()
    assert page.count('data-mail-state="queued"') == 2

    smtp_sink.start()
    outbox.emails_resume(now=timezone.now() + timedelta(hours=1))
    outbox.emails_resume(now=timezone.now() + timedelta(hours=2))
    assert [e.state for e in OutgoingEmail.objects.order_by("pk")] == [State.SENT, State.SENT]
    for address in ("erika@kunde-gmbh.de", host.email):
        [received] = smtp_sink.received(address)
        [invitation] = list(received["message"].iter_attachments())
        assert invitation.get_content_type() == "text/calendar" and invitation.get_param("method") == "REQUEST"
        calendar = Calendar.from_ical(invitation.get_content())
        assert [str(e["UID"]) for e in calendar.walk("VEVENT")] == [appointment.uid]
    assert client_for(host).get(appointment.get_absolute_url()).content.decode().count('data-mail-state="sent"') == 2


def test_a_booking_that_loses_the_slot_stores_no_confirmation(first_meeting, day, django_capture_on_commit_callbacks):
    services.appointment_book(appointment_type=first_meeting, start=at(day, 10), customer_name="A", customer_email="a@kunde.de")
    with pytest.raises(services.SlotTaken):
        services.appointment_book(appointment_type=first_meeting, start=at(day, 10, 15), customer_name="B",
                                  customer_email="b@kunde.de", check_slots=False)
    assert not OutgoingEmail.objects.filter(to="b@kunde.de").exists()
