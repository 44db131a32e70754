"""Demo and benchmark data: appointment types, working hours for every demo user, and appointments.

Appointments are laid out per host and working day without overlaps (the exclusion constraint
holds on Postgres), written in bulk: about 2 per host and working day, from 60 days back to 30 ahead,
at most `scale // 10` hosts' worth beyond the demo users.
"""

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from appointments import services
from appointments.models import Appointment, AppointmentType, Availability, WorkingHours
from crm.models import Team
from crm.seeding import Seeder, moment_this_month, register

DAYS_BACK = 60
DAYS_AHEAD = 30
PER_DAY = 2
DEMO_TYPE_NAME = "Erstgespräch 30 Min"
CUSTOMERS = [
    ("Jürgen Müller", "j.mueller@example.com"), ("Anna Schmidt", "anna.schmidt@example.com"),
    ("Petra Weber", "p.weber@example.com"), ("Thomas Becker", "t.becker@example.com"),
    ("Sabine Hoffmann", "s.hoffmann@example.com"), ("Klaus Fischer", "k.fischer@example.com"),
]


def seed_appointments(*, scale: int, users: dict, faker, log) -> None:
    everybody = [u for role_users in users.values() for u in role_users]
    hosts = list({u.pk: u for u in everybody}.values())
    rng = random.Random(6)
    with transaction.atomic():
        existing = set(Availability.objects.filter(user__in=hosts).values_list("user_id", flat=True))
        availabilities = [Availability(user=u) for u in hosts if u.pk not in existing]
        Availability.objects.bulk_create(availabilities)
        hours = [
            WorkingHours(availability=a, weekday=day, start=time(9), end=time(17))
            for a in Availability.objects.filter(user__in=hosts).exclude(hours__isnull=False)
            for day in range(5)
        ]
        WorkingHours.objects.bulk_create(hours)
        types = []
        for user in hosts:
            kind, _created = AppointmentType.objects.get_or_create(
                name=DEMO_TYPE_NAME,
                host_user=user,
                defaults={"duration": 30, "buffer_after": 10, "location_kind": AppointmentType.LocationKind.VIDEO,
                          "location_detail": "https://meet.example.com/erstgespraech", "min_notice": 120},
            )
            types.append(kind)
        for team in Team.objects.all():
            AppointmentType.objects.get_or_create(
                name=f"Beratung {team.name}",
                host_team=team,
                defaults={"duration": 45, "buffer_before": 5, "buffer_after": 5, "assignment": AppointmentType.Assignment.ROUND_ROBIN,
                          "location_kind": AppointmentType.LocationKind.PHONE},
            )
        if Appointment.objects.exists():
            log("Appointments: already there.")
            return
        zone = timezone.get_current_timezone()
        today = timezone.localdate()
        now = timezone.now()
        rows = []
        for kind in types:
            for offset in range(-DAYS_BACK, DAYS_AHEAD):
                day = today + timedelta(days=offset)
                if day.weekday() >= 5:
                    continue
                hours = rng.sample(range(9, 16), PER_DAY)
                for hour in hours:
                    start = datetime.combine(day, time(hour, 0), tzinfo=zone)
                    name, email = rng.choice(CUSTOMERS)
                    # Booked a few days ahead; what would be booked in the future was booked this month.
                    created_at = start - timedelta(days=rng.randint(1, 14), minutes=rng.randint(0, 600))
                    if created_at >= now:
                        created_at = moment_this_month(now, rng)
                    appointment = Appointment(
                        appointment_type=kind, host_id=kind.host_user_id, customer_name=name, customer_email=email,
                        created_at=created_at,
                    )
                    appointment.set_times(start, appointment_type=kind)
                    if start < now:
                        appointment.status = rng.choice([Appointment.Status.HELD] * 4 + [Appointment.Status.NO_SHOW, Appointment.Status.CANCELLED])
                    appointment.search_key = ""
                    appointment.refresh_search_key()
                    rows.append(appointment)
        Appointment.objects.bulk_create(rows, batch_size=2000)
        # "Booked" a week ago: the reminders due by now went out back then, not at beat's start.
        reminded = services.reminders_mark_sent(now=now)
        log(f"Appointments: {len(types)} types, {len(rows)} appointments for {len(hosts)} hosts ({reminded} reminders marked sent).")


register(Seeder("appointments", seed_appointments, order=60, has_data=lambda: Appointment.objects.exists()))
