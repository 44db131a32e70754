"""The appointments pages measured by `manage.py benchmark`: week views and the booking page's slots."""

from django.contrib.auth import get_user_model
from django.urls import reverse

from appointments.models import AppointmentType
from appointments.services import booking_token
from crm.benchmarks import Endpoint, register
from crm.models import Team


def _week(user, rng):
    ids = list(get_user_model().objects.filter(hosted_appointments__isnull=False).values_list("pk", flat=True).distinct()[:50])
    host = rng.choice(ids) if ids else user.pk
    return f"{reverse('appointments:calendar')}?user={host}&view=week"


def _team_week(user, rng):
    ids = list(Team.objects.values_list("pk", flat=True))
    return f"{reverse('appointments:team_calendar')}?team={rng.choice(ids)}&view=week" if ids else reverse("appointments:team_calendar")


def _team_slots(user, rng):
    kind = AppointmentType.objects.filter(host_team__isnull=False, is_active=True).first()
    kind = kind or AppointmentType.objects.filter(is_active=True).first()
    return reverse("appointments:public_book", args=[booking_token(appointment_type=kind)])


register(Endpoint("appointments.week", _week))
register(Endpoint("appointments.team_week", _team_week))
register(Endpoint("appointments.booking_slots", _team_slots))
