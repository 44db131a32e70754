"""Reminders go out once per appointment and offset, however often beat fires; cancelled ones never."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from appointments import services, tasks
from appointments.models import Reminder
from appointments.tests.factories import AppointmentFactory, AppointmentTypeFactory
from crm.models import OutgoingEmail


@pytest.fixture
def soon(host):
    kind = AppointmentTypeFactory(host_user=host, reminder_offsets=[1440, 60])
    return AppointmentFactory(
        appointment_type=kind, host=host, start=timezone.now() + timedelta(minutes=50), created_at=timezone.now() - timedelta(days=3)
    )


def reminder_mails():
    """The reminders in the outbox (stored with the claim; a worker delivers them)."""
    return [m for m in OutgoingEmail.objects.order_by("pk") if m.subject.startswith(("Reminder", "Erinnerung"))]


def test_beat_firing_twice_sends_one_reminder_per_offset(soon):
    assert tasks.reminders_send_due() == 2  # both the 24-hour and the 1-hour reminder are due
    assert tasks.reminders_send_due() == 0
    assert len(reminder_mails()) == 4  # customer and host, each offset once
    assert set(Reminder.objects.values_list("offset", flat=True)) == {1440, 60}
    assert all(r.sent_at for r in Reminder.objects.all())


def test_a_cancelled_appointment_gets_no_reminder(soon):
    services.appointment_cancel(appointment=soon)
    assert tasks.reminders_send_due() == 0
    assert reminder_mails() == []


def test_reminders_wait_until_they_are_due(host):
    kind = AppointmentTypeFactory(host_user=host, reminder_offsets=[60])
    AppointmentFactory(appointment_type=kind, host=host, start=timezone.now() + timedelta(hours=3), created_at=timezone.now() - timedelta(days=1))
    assert services.reminders_send_due() == 0
    assert services.reminders_send_due(now=timezone.now() + timedelta(hours=2, minutes=1)) == 1


def test_a_claim_of_a_dead_worker_is_taken_over_but_a_fresh_claim_is_not(soon):
    Reminder.objects.create(appointment=soon, offset=60, claimed_at=timezone.now())
    Reminder.objects.create(appointment=soon, offset=1440, claimed_at=timezone.now() - timedelta(minutes=30))
    assert services.reminders_send_due() == 1
    assert Reminder.objects.get(offset=1440).sent_at is not None
    assert Reminder.objects.get(offset=60).sent_at is None


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite runs one writer at a time anyway")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_beats_at_once_send_each_reminder_once(soon):
    results = []

    def run():
        try:
            results.append(services.reminders_send_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 2
    assert len(reminder_mails()) == 4
