"""The appointments pages measured by `manage.py benchmark`: week views, the booking page's slots,
and the slot computation of a 20-host team over 30 days with synced calendar busy times."""

from django.contrib.auth import get_user_model
from django.urls import reverse

from appointments.models import AppointmentType
from appointments.services import booking_token
from crm.benchmarks import Endpoint, Throughput, register, register_throughput
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


SLOT_HOSTS, SLOT_DAYS, SLOT_CALLS = 20, 30, 50


def _slots_with_busy_times(user, rng) -> list[tuple[int, float]]:
    """compute_slots for a team of 20 hosts over 30 days, each host with synced calendar busy
    times (three events a working day, some overlapping, plus a few all-day ones) and two
    appointments a day: the slots computed per second, and each call's time (p95 in the report).
    Its own hosts and team, rolled back afterwards by the command."""
    import time as clock
    from datetime import UTC, datetime, timedelta
    from datetime import time as day_time

    from appointments.calendars.models import BusyTime
    from appointments.models import Appointment, Availability, WorkingHours
    from appointments.slots import compute_slots

    run = rng.randrange(10**9)
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"slots-benchmark-{run}-{n}", email=f"slots{run}.{n}@crm.example") for n in range(SLOT_HOSTS)]
    )
    team = Team.objects.create(name=f"Slots benchmark {run}")
    team.members.add(*users)
    availabilities = Availability.objects.bulk_create([Availability(user=u) for u in users])
    WorkingHours.objects.bulk_create([
        WorkingHours(availability=a, weekday=d, start=day_time(8), end=day_time(18)) for a in availabilities for d in range(5)
    ])
    kind = AppointmentType.objects.create(
        name=f"Slots benchmark {run}", host_team=team, duration=30, buffer_after=10, slot_interval=15, min_notice=0,
        max_days_ahead=SLOT_DAYS + 1,
    )
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    busy, appointments = [], []
    for host in users:
        for day in range(SLOT_DAYS):
            base = start + timedelta(days=day)
            for hour in sorted(rng.sample(range(7, 17), 3)):
                begin = base + timedelta(hours=hour, minutes=rng.choice((0, 15, 30)))
                busy.append(BusyTime(user=host, start=begin, end=begin + timedelta(minutes=rng.choice((30, 60, 90)))))
            if rng.random() < 0.05:
                busy.append(BusyTime(user=host, start=base, end=base + timedelta(days=1)))
            for hour in rng.sample(range(8, 16), 2):
                appointment = Appointment(
                    appointment_type=kind, host=host, customer_name="Benchmark", customer_email="kunde@crm.example",
                )
                appointment.set_times(base + timedelta(hours=hour), appointment_type=kind)
                appointments.append(appointment)
    BusyTime.objects.bulk_create(busy)
    # The appointments may overlap the busy times (both block); on Postgres none may overlap each other.
    appointments.sort(key=lambda a: (a.host_id, a.start))
    kept = [a for i, a in enumerate(appointments) if i == 0 or a.host_id != appointments[i - 1].host_id
            or a.blocked_start >= appointments[i - 1].blocked_end]
    Appointment.objects.bulk_create(kept)
    now = start - timedelta(hours=1)
    calls = []
    for _ in range(SLOT_CALLS):
        began = clock.perf_counter()
        slots = compute_slots(appointment_type=kind, start=start, end=start + timedelta(days=SLOT_DAYS), now=now)
        calls.append((len(slots), clock.perf_counter() - began))
    if not slots:
        raise RuntimeError("the slots benchmark found no free slot at all")
    return calls


register_throughput(Throughput("appointments.slots_busy_20x30", _slots_with_busy_times))
