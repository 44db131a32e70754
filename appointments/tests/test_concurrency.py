"""50 customers press "Book" for the same time at once: one gets it, 49 are told kindly.

Needs Postgres (each thread has its own connection; the exclusion constraint decides).
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse

from appointments import services
from appointments.models import Appointment
from appointments.tests.conftest import at
from appointments.tests.factories import AppointmentFactory

pytestmark = pytest.mark.services
REQUESTS = 50
WORKERS = 25  # bounded: the server is shared


def _require_postgres():
    if connection.vendor != "postgresql":
        pytest.fail("needs Postgres (the exclusion constraint and one connection per thread)")


# Skipped before any database set-up elsewhere (a transactional test's flush would disturb the
# serialized-rollback tests that follow); with REQUIRE_SERVICES=1 it runs and fails without Postgres.
requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql" and os.environ.get("REQUIRE_SERVICES") != "1",
    reason="needs Postgres (the exclusion constraint and one connection per thread)",
)


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fifty_concurrent_bookings_of_one_slot_one_wins(first_meeting, day):
    _require_postgres()
    url = reverse("appointments:public_book", args=[services.booking_token(appointment_type=first_meeting)])
    slot = at(day, 10).isoformat()
    barrier = threading.Barrier(WORKERS)

    def attempt(index):
        try:
            if index < WORKERS:
                barrier.wait(timeout=30)
            # Fifty customers, each from their own address (one address would meet the rate limit).
            response = Client(REMOTE_ADDR=f"198.51.100.{index + 1}").post(url, {"lang": "en", "slot": slot, "name": f"Kunde {index}", "email": f"k{index}@example.de"})
            return response.status_code, response.content.decode()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(attempt, range(REQUESTS)))
    statuses = [status for status, _html in results]
    assert statuses.count(302) == 1, statuses
    assert statuses.count(409) == REQUESTS - 1
    assert all("this time was just taken" in html for status, html in results if status == 409)
    assert Appointment.objects.filter(start=at(day, 10)).count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_exclusion_constraint_refuses_overlapping_rows(first_meeting, host, day):
    _require_postgres()
    AppointmentFactory(appointment_type=first_meeting, host=host, start=at(day, 10))
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentFactory(appointment_type=first_meeting, host=host, start=at(day, 10, 35))  # inside the buffer
    # Cancelled rows and other hosts do not count.
    AppointmentFactory(appointment_type=first_meeting, host=host, start=at(day, 10, 10), status="cancelled")


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fifty_concurrent_api_bookings_of_one_slot_one_wins(first_meeting, host, day):
    """The same through the API: one 201, 49 times 409, one appointment."""
    import json

    from crm.tests.api_client import token_for

    _require_postgres()
    token = token_for(host)
    body = {"appointment_type": first_meeting.pk, "start": at(day, 10).isoformat(), "customer_name": "Kunde",
            "customer_email": "kunde@example.de"}
    barrier = threading.Barrier(WORKERS)

    def attempt(index):
        try:
            if index < WORKERS:
                barrier.wait(timeout=30)
            response = Client().post("/api/v1/appointments/", data=json.dumps({**body, "customer_name": f"Kunde {index}"}),
                                     content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
            return response.status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        statuses = list(pool.map(attempt, range(REQUESTS)))
    assert statuses.count(201) == 1 and statuses.count(409) == REQUESTS - 1, statuses
    assert Appointment.objects.filter(start=at(day, 10)).count() == 1
