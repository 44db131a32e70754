"""Everyone's start page shows their own appointments of today, in time order."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appointments.models import Appointment
from appointments.tests.factories import AppointmentFactory, AppointmentTypeFactory
from crm.roles import Role
from crm.tests.startpage import home, home_queries, widget

pytestmark = pytest.mark.django_db


def today_at(hour: int, minute: int = 0):
    return timezone.localtime().replace(hour=hour, minute=minute, second=0, microsecond=0)


def test_every_role_has_the_appointments_of_today(role_users, client_for):
    for role, user in role_users.items():
        assert widget(home(client_for(user)), "w-appointments-today"), role


def test_my_appointments_of_today_in_time_order(alice, bob, client_for):
    meeting = AppointmentTypeFactory(host_user=alice, name="Beratung")
    late = AppointmentFactory(appointment_type=meeting, customer_name="Spät Kunde", start=today_at(16))
    early = AppointmentFactory(appointment_type=meeting, customer_name="Früh Kundin", start=today_at(8, 30))
    AppointmentFactory(appointment_type=meeting, customer_name="Abgesagt", start=today_at(12), status=Appointment.Status.CANCELLED)
    AppointmentFactory(appointment_type=meeting, customer_name="Morgen", start=today_at(9) + timedelta(days=1))
    AppointmentFactory(appointment_type=meeting, customer_name="Gestern", start=today_at(9) - timedelta(days=1))
    AppointmentFactory(appointment_type=AppointmentTypeFactory(host_user=bob), customer_name="Bobs Termin", start=today_at(11))
    today = widget(home(client_for(alice)), "w-appointments-today")
    assert today.index(early.customer_name) < today.index(late.customer_name)
    for name in ("Abgesagt", "Morgen", "Gestern", "Bobs Termin"):
        assert name not in today, name
    day = timezone.localdate().isoformat()
    assert f"host={alice.pk}&amp;start_from={day}&amp;start_to={day}" in today


def test_no_appointments_today_in_german(alice, client_for):
    assert "Heute keine Termine." in widget(home(client_for(alice), language="de"), "w-appointments-today")


def test_queries_do_not_grow_with_the_appointments(role_users, client_for):
    user = role_users[Role.SUPPORT_AGENT]
    client = client_for(user)

    def add(first, last):
        # 30 minutes and a 10-minute buffer each, one after the other: no double booking.
        for i in range(first, last):
            meeting = AppointmentTypeFactory(host_user=user)
            AppointmentFactory(appointment_type=meeting, start=today_at(0) + timedelta(minutes=40 * i + 1))

    add(0, 3)
    few = home_queries(client)
    add(3, 30)
    assert home_queries(client) == few
