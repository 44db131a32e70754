"""Measure slot computation: a team of N hosts over D days, with their appointments and absences.

    manage.py appointments_slot_benchmark --hosts 20 --days 30 --repeat 20

Everything it creates lives in one transaction that is rolled back at the end.
"""

import json
import statistics
import time as clock
from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments.models import Appointment, AppointmentType, Availability, AvailabilityException, WorkingHours
from appointments.slots import compute_slots
from crm.models import Team


class Rollback(Exception):
    """Raised to leave the atomic block, so the benchmark's data is rolled back."""


class Command(BaseCommand):
    help = "Time the slot computation for a team over a number of days (data rolled back afterwards)."

    def add_arguments(self, parser):
        parser.add_argument("--hosts", type=int, default=20)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--repeat", type=int, default=20)
        parser.add_argument("--per-day", type=int, default=4, help="booked appointments per host and working day")

    def handle(self, *, hosts: int, days: int, repeat: int, per_day: int, **options):
        result = {}
        try:
            with transaction.atomic():
                kind, start = self._make_team(hosts, days, per_day)
                end = start + timedelta(days=days)
                now = start - timedelta(hours=1)
                timings = []
                for _ in range(repeat):
                    began = clock.perf_counter()
                    with CaptureQueriesContext(connection) as queries:
                        slots = compute_slots(appointment_type=kind, start=start, end=end, now=now)
                    timings.append((clock.perf_counter() - began) * 1000)
                timings.sort()
                result = {
                    "hosts": hosts,
                    "days": days,
                    "appointments": Appointment.objects.filter(appointment_type=kind).count(),
                    "slots": len(slots),
                    "host_slots": sum(len(s.host_ids) for s in slots),
                    "queries": len(queries),
                    "ms_p50": round(statistics.median(timings), 1),
                    "ms_p95": round(timings[max(0, int(len(timings) * 0.95) - 1)], 1),
                    "ms_max": round(timings[-1], 1),
                    "database": connection.vendor,
                }
                raise Rollback
        except Rollback:
            pass  # the data made for the measurement is gone again; the result is kept
        self.stdout.write(json.dumps(result))

    def _make_team(self, hosts: int, days: int, per_day: int):
        User = get_user_model()
        users = User.objects.bulk_create(User(username=f"slotbench-{i}", first_name="Bench", last_name=str(i)) for i in range(hosts))
        users = list(User.objects.filter(username__startswith="slotbench-"))
        team = Team.objects.create(name="Slot benchmark team")
        team.members.add(*users)
        availabilities = Availability.objects.bulk_create(Availability(user=u, feed_token=f"slotbench-{u.pk}") for u in users)
        WorkingHours.objects.bulk_create(
            WorkingHours(availability=a, weekday=d, start=start, end=end)
            for a in availabilities for d in range(5) for start, end in ((time(8), time(12)), (time(13), time(17)))
        )
        kind = AppointmentType.objects.create(name="Benchmark", host_team=team, duration=30, buffer_before=5, buffer_after=10, slot_interval=15, min_notice=0, max_days_ahead=days + 1)
        zone = timezone.get_current_timezone()
        first = timezone.localdate() + timedelta(days=1)
        rows = []
        for offset in range(days):
            day = first + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            for index, user in enumerate(users):
                for slot in range(per_day):
                    begin = datetime.combine(day, time(8 + (index + slot * 2) % 8, 0), tzinfo=zone)
                    appointment = Appointment(appointment_type=kind, host=user, customer_name="Kunde", customer_email="k@example.de")
                    appointment.set_times(begin, appointment_type=kind)
                    rows.append(appointment)
        # Drop the few rows the pattern makes overlap (the exclusion constraint would refuse them).
        seen, unique = set(), []
        for row in rows:
            key = (row.host_id, row.start)
            if key not in seen:
                seen.add(key)
                unique.append(row)
        Appointment.objects.bulk_create(unique, batch_size=2000)
        for user in users[::5]:
            day = first + timedelta(days=3)
            AvailabilityException.objects.create(user=user, start=datetime.combine(day, time(0), tzinfo=zone), end=datetime.combine(day + timedelta(days=2), time(0), tzinfo=zone))
        return kind, datetime.combine(first, time(0), tzinfo=zone)
