"""Appointment workflows: booking without double booking, moving, cancelling, offering times,
confirmations with calendar invitations, and reminders that go out exactly once."""

import logging
import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from appointments import ics
from appointments.models import Appointment, AppointmentType, Availability, Reminder, SlotOffer
from appointments.slots import compute_slots
from crm import outbox, webhooks
from crm.links import absolute_url

logger = logging.getLogger(__name__)

BOOKING_SALT = "appointments.booking"
SLOT_SALT = "appointments.slot"
MANAGE_SALT = "appointments.manage"
OFFER_VALID_DAYS = 14
# A claimed reminder whose email did not go out within this time (the worker died) is claimed again.
REMINDER_RECLAIM_AFTER = timedelta(minutes=10)


class SlotTaken(Exception):
    """The chosen time is no longer free (someone else booked it a moment ago)."""


class HostNotFree(SlotTaken):
    """The host's free times (working hours, exceptions, their calendar's busy times, notice,
    other appointments) do not include this time."""


# Signed links -------------------------------------------------------------------------------


def booking_token(*, appointment_type: AppointmentType, offer: SlotOffer | None = None) -> str:
    return signing.dumps({"t": appointment_type.pk, "o": offer.pk if offer else None}, salt=BOOKING_SALT)


def slot_token(*, offer: SlotOffer, start: datetime, host_id: int) -> str:
    return signing.dumps({"o": offer.pk, "s": start.isoformat(), "h": host_id}, salt=SLOT_SALT)


def manage_token(appointment: Appointment) -> str:
    return signing.dumps({"a": appointment.pk, "u": appointment.uid}, salt=MANAGE_SALT)




def manage_url(appointment: Appointment) -> str:
    return absolute_url(reverse("appointments:public_manage", args=[manage_token(appointment)]))


# Booking ------------------------------------------------------------------------------------


def _hosts_in_turn(appointment_type: AppointmentType, free_host_ids) -> list[int]:
    """Round robin: whoever was booked for this type longest ago goes first; first free: fixed order."""
    free = list(free_host_ids)
    if appointment_type.host_user_id or appointment_type.assignment == AppointmentType.Assignment.FIRST_FREE:
        return free
    last = dict(
        Appointment.objects.filter(appointment_type=appointment_type, host_id__in=free)
        .values("host_id")
        .annotate(last=Max("created_at"))
        .values_list("host_id", "last")
    )
    oldest = datetime.min.replace(tzinfo=timezone.get_current_timezone())
    return sorted(free, key=lambda host_id: (last.get(host_id) or oldest, free.index(host_id)))


def free_hosts_at(*, appointment_type: AppointmentType, start: datetime, host_ids=None, exclude_appointment=None) -> list[int]:
    end = start + timedelta(minutes=appointment_type.duration)
    slots = compute_slots(
        appointment_type=appointment_type, start=start, end=end, host_ids=host_ids, exclude_appointment=exclude_appointment
    )
    return next((list(slot.host_ids) for slot in slots if slot.start == start), [])


def _save_without_overlap(appointment: Appointment, *, then=None) -> bool:
    """Save in its own transaction; False when the host's time overlaps another active appointment.
    `then` runs in that transaction after the save (the confirmations are stored with the booking).

    Postgres: the exclusion constraint refuses the row. Elsewhere (SQLite): the write comes first,
    so the transaction holds the database's write lock before it looks for overlaps; SQLite runs
    one writer at a time, so the next booking sees this one.
    """
    try:
        with transaction.atomic():
            appointment.save()
            if connection.vendor != "postgresql":
                clash = (
                    Appointment.objects.active()
                    .filter(host_id=appointment.host_id)
                    .overlapping(appointment.blocked_start, appointment.blocked_end)
                    .exclude(pk=appointment.pk)
                    .exists()
                )
                if clash:
                    raise IntegrityError("appointments_no_double_booking")
            if then is not None:
                then()
    except IntegrityError:
        return False
    return True


def appointment_book(
    *,
    appointment_type: AppointmentType,
    start: datetime,
    customer_name: str,
    customer_email: str,
    customer_time_zone: str = "Europe/Berlin",
    note: str = "",
    language: str = "de",
    person=None,
    host_ids=None,
    regarding=None,
    offer: SlotOffer | None = None,
    created_by=None,
    check_slots: bool = True,
) -> Appointment:
    """Book `start` with the first free host in turn; SlotTaken when nobody is free any more."""
    candidates = (
        free_hosts_at(appointment_type=appointment_type, start=start, host_ids=host_ids)
        if check_slots
        else list(host_ids or appointment_type.host_ids())
    )
    if not candidates:
        raise SlotTaken
    if person is None:
        from contacts.models import Person

        # Emails are stored lower-case (contacts.Person.clean), so the indexed exact match finds them.
        matches = list(Person.objects.filter(email=customer_email.strip().lower())[:2])
        person = matches[0] if len(matches) == 1 else None
    for host_id in _hosts_in_turn(appointment_type, candidates):
        appointment = Appointment(
            appointment_type=appointment_type,
            host_id=host_id,
            person=person,
            customer_name=customer_name.strip(),
            customer_email=customer_email.strip(),
            customer_time_zone=customer_time_zone,
            note=note.strip(),
            language=language,
            offer=offer,
            created_by=created_by,
        )
        if regarding is not None:
            appointment.regarding_type = ContentType.objects.get_for_model(regarding)
            appointment.regarding_id = regarding.pk
        appointment.set_times(start, appointment_type=appointment_type)
        if _save_without_overlap(appointment, then=lambda a=appointment: appointment_notify(appointment=a, event="booked")):
            return appointment
    raise SlotTaken


def appointment_enter(
    *, appointment_type: AppointmentType, host, start: datetime, person, created_by, note: str = "",
    override: bool = False,
) -> Appointment:
    """Staff enter a fixed appointment with a customer (who need not pick a time): booked as the
    booking page books, so the customer gets the invitation (ICS) through the outbox and the
    host's calendar gets the entry (same UID). HostNotFree outside the host's free times unless
    `override`; never on top of another appointment of the host (SlotTaken), override or not."""
    if not override and host.pk not in free_hosts_at(appointment_type=appointment_type, start=start, host_ids=[host.pk]):
        raise HostNotFree
    return appointment_book(
        appointment_type=appointment_type, start=start, customer_name=person.full_name, customer_email=person.email,
        language=person.preferred_language or "de", note=note, person=person, host_ids=[host.pk],
        created_by=created_by, check_slots=False,
    )


def appointment_reschedule(*, appointment: Appointment, start: datetime) -> Appointment:
    """Move to `start` with the same host; the calendar invitation is updated (SEQUENCE + 1)."""
    if not appointment.is_active or appointment.status != Appointment.Status.BOOKED:
        raise SlotTaken
    if not free_hosts_at(
        appointment_type=appointment.appointment_type, start=start, host_ids=[appointment.host_id], exclude_appointment=appointment
    ):
        raise SlotTaken
    previous = (appointment.start, appointment.end, appointment.blocked_start, appointment.blocked_end, appointment.sequence)
    appointment.set_times(start)
    appointment.sequence += 1
    def moved():
        appointment.reminders.all().delete()  # reminders are due again for the new time
        appointment_notify(appointment=appointment, event="moved")

    if not _save_without_overlap(appointment, then=moved):
        appointment.start, appointment.end, appointment.blocked_start, appointment.blocked_end, appointment.sequence = previous
        raise SlotTaken
    return appointment


@transaction.atomic
def appointment_cancel(*, appointment: Appointment) -> Appointment:
    locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if locked.status == Appointment.Status.CANCELLED:
        return locked
    locked.status = Appointment.Status.CANCELLED
    locked.sequence += 1
    locked.save(update_fields=["status", "sequence", "updated_at"])
    appointment_notify(appointment=locked, event="cancelled")
    return locked


def appointment_set_outcome(*, appointment: Appointment, status: str) -> Appointment:
    if status not in (Appointment.Status.HELD, Appointment.Status.NO_SHOW, Appointment.Status.BOOKED):
        raise ValueError(status)
    if appointment.status == Appointment.Status.CANCELLED or not appointment.is_past:
        raise ValueError(status)
    appointment.status = status
    appointment.save(update_fields=["status", "updated_at"])
    return appointment


# Offering times ---------------------------------------------------------------------------------


@transaction.atomic
def offer_create(
    *,
    appointment_type: AppointmentType,
    mode: str,
    customer_name: str,
    customer_email: str,
    customer_time_zone: str = "Europe/Berlin",
    language: str = "de",
    slots: list[tuple[datetime, int]] = (),
    message: str = "",
    person=None,
    regarding=None,
    created_by=None,
) -> SlotOffer:
    offer = SlotOffer(
        appointment_type=appointment_type,
        mode=mode,
        slots=[{"start": start.isoformat(), "host": host_id} for start, host_id in slots],
        customer_name=customer_name.strip(),
        customer_email=customer_email.strip(),
        customer_time_zone=customer_time_zone,
        language=language,
        message=message.strip(),
        person=person,
        created_by=created_by,
        expires_at=timezone.now() + timedelta(days=OFFER_VALID_DAYS),
    )
    if regarding is not None:
        offer.regarding_type = ContentType.objects.get_for_model(regarding)
        offer.regarding_id = regarding.pk
    offer.save()
    _queue_offer(offer)
    return offer


def offer_slot_links(offer: SlotOffer) -> list[tuple[datetime, str]]:
    links = []
    for item in offer.slots:
        start = datetime.fromisoformat(item["start"])
        url = reverse("appointments:public_offer_slot", args=[slot_token(offer=offer, start=start, host_id=item["host"])])
        links.append((start, absolute_url(url)))
    return links


def _queue_offer(offer: SlotOffer) -> None:
    zone = zoneinfo.ZoneInfo(offer.customer_time_zone)
    with translation.override(offer.language), timezone.override(zone):
        context = {
            "offer": offer,
            "zone": zone,
            "slot_links": [(start.astimezone(zone), url) for start, url in offer_slot_links(offer)],
            "booking_url": absolute_url(
                reverse("appointments:public_book", args=[booking_token(appointment_type=offer.appointment_type, offer=offer)])
            ),
            "sender": offer.created_by,
        }
        subject = _("Appointment: %(type)s") % {"type": offer.appointment_type.name}
        body = render_to_string("appointments/email/offer.txt", context)
    reply_to = [offer.created_by.email] if offer.created_by and offer.created_by.email else []
    outbox.email_queue(to=offer.customer_email, subject=subject, body=body, reply_to=reply_to, regarding=offer)


# Confirmations ------------------------------------------------------------------------------------


def appointment_notify(*, appointment: Appointment, event: str) -> None:
    """Email customer and host with the invitation (or its cancellation) attached: stored in the
    caller's transaction (crm.outbox), delivered by a worker. Booked, moved and cancelled are
    also webhook events, in the same transaction."""
    if event in ("booked", "moved", "cancelled"):
        webhooks.emit(f"appointment.{event}", appointment)
        # The host's own calendar follows, written by a task after the commit (never blocking the booking).
        from appointments.calendars.sync import push_queue

        push_queue(appointment=appointment)
    host = appointment.host
    host_zone = getattr(getattr(host, "availability", None), "time_zone", None) or settings.TIME_ZONE
    recipients = [
        (appointment.customer_email, appointment.language, appointment.customer_time_zone, True),
    ]
    if host.email:
        recipients.append((host.email, settings.LANGUAGE_CODE, host_zone, False))
    for address, language, zone_name, is_customer in recipients:
        zone = zoneinfo.ZoneInfo(zone_name)
        with translation.override(language), timezone.override(zone):
            context = {
                "appointment": appointment,
                "event": event,
                "local_start": appointment.start.astimezone(zone),
                "local_end": appointment.end.astimezone(zone),
                "zone_name": zone_name,
                "is_customer": is_customer,
                "manage_url": manage_url(appointment),
                "staff_url": absolute_url(appointment.get_absolute_url()),
            }
            subjects = {
                "booked": _("Confirmed: %(type)s on %(when)s"),
                "moved": _("Moved: %(type)s on %(when)s"),
                "cancelled": _("Cancelled: %(type)s on %(when)s"),
                "reminder": _("Reminder: %(type)s on %(when)s"),
            }
            subject = subjects[event] % {
                "type": appointment.appointment_type.name,
                "when": context["local_start"].strftime("%d.%m.%Y %H:%M"),
            }
            body = render_to_string("appointments/email/appointment.txt", context)
            invitation = ics.invitation(appointment, description=body, zone_name=zone_name)
        method = "CANCEL" if appointment.status == Appointment.Status.CANCELLED else "REQUEST"
        outbox.email_queue(
            to=address, subject=subject, body=body, regarding=appointment,
            attachments=[("einladung.ics", invitation, f"text/calendar; method={method}; charset=utf-8")],
        )


# Reminders --------------------------------------------------------------------------------------


def _claim_reminder(appointment: Appointment, offset: int, now: datetime) -> bool:
    """True when this caller now owns the reminder: a fresh row, or a stale claim whose sender died."""
    try:
        with transaction.atomic():
            Reminder.objects.create(appointment=appointment, offset=offset, claimed_at=now)
        return True
    except IntegrityError:
        return bool(
            Reminder.objects.filter(
                appointment=appointment, offset=offset, sent_at__isnull=True, claimed_at__lt=now - REMINDER_RECLAIM_AFTER
            ).update(claimed_at=now)
        )


def _reminders_due(now: datetime):
    """(appointment, offset) of every reminder that is due and not yet sent."""
    offsets = set()
    for type_offsets in AppointmentType.objects.filter(is_active=True).values_list("reminder_offsets", flat=True):
        offsets.update(o for o in type_offsets or [] if isinstance(o, int) and o > 0)
    for offset in sorted(offsets):
        due = (
            Appointment.objects.filter(
                status=Appointment.Status.BOOKED,
                start__gt=now,
                start__lte=now + timedelta(minutes=offset),
            )
            .exclude(Exists(Reminder.objects.filter(appointment=OuterRef("pk"), offset=offset, sent_at__isnull=False)))
            .select_related("appointment_type", "host")
        )
        for appointment in due:
            if offset not in (appointment.appointment_type.reminder_offsets or []):
                continue
            # Booked after this reminder was due: the confirmation was reminder enough.
            if appointment.created_at > appointment.start - timedelta(minutes=offset):
                continue
            yield appointment, offset


def reminders_mark_sent(*, now: datetime | None = None) -> int:
    """Record every reminder that is due as sent, without sending it: for demo data, whose
    appointments were "booked" a week ago, so that beat does not remind of them all at its start."""
    now = now or timezone.now()
    rows = [Reminder(appointment=a, offset=offset, claimed_at=now, sent_at=now) for a, offset in _reminders_due(now)]
    Reminder.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def reminders_send_due(*, now: datetime | None = None) -> int:
    """Send every reminder that is due and not yet sent; safe to run twice at once."""
    now = now or timezone.now()
    sent = 0
    for appointment, offset in list(_reminders_due(now)):
            # The claim, the stored emails and the mark commit together (crm.outbox delivers them).
            with transaction.atomic():
                if not _claim_reminder(appointment, offset, now):
                    continue
                # Cancelled while we were claiming: claimed, never sent.
                if not Appointment.objects.filter(pk=appointment.pk, status=Appointment.Status.BOOKED).exists():
                    continue
                appointment_notify(appointment=appointment, event="reminder")
                Reminder.objects.filter(appointment=appointment, offset=offset).update(sent_at=timezone.now())
            sent += 1
    return sent


# Availability ----------------------------------------------------------------------------------


def availability_for(user) -> Availability:
    availability, _created = Availability.objects.get_or_create(user=user)
    return availability
