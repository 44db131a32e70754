"""What appointments stores about a contacts person, for the data-protection export and erasure
(crm.privacy).

Export: appointments and slot offers of the person (linked to the person or sent to one of the
person's addresses): name, email, time zone, note or message, times, status.

Erasure: the appointments stay as records of the host's calendar (type, host, times, status),
but name, email, note and customer time zone are emptied or reset; their change history is
deleted, and their entries in the hosts' own calendars are written again without them. Slot
offers lose name, email and message. Reminders hold nothing personal and stay.
"""

from django.db.models import Q
from django.utils.translation import gettext as _

from appointments.models import (
    DEFAULT_TIME_ZONE,
    Appointment,
    AppointmentType,
    Availability,
    AvailabilityException,
    BusyTime,
    CalendarConnection,
    CalendarPush,
    Reminder,
    SlotOffer,
    WorkingHours,
)
from crm import customfields
from crm.privacy import classify, emails, plain

# Calendars, working hours and appointment types are the staff's.
classify(Availability, not_personal="user time_zone holiday_subdivision feed_token")
classify(WorkingHours, not_personal="availability weekday start end")
classify(AvailabilityException, not_personal="user kind start end note")
classify(
    AppointmentType,
    not_personal="name description duration buffer_before buffer_after slot_interval location_kind location_detail "
                 "min_notice max_days_ahead host_user host_team assignment reminder_offsets is_active created_at",
)
classify(
    Appointment,
    personal="customer_name customer_email customer_time_zone note custom_fields",
    derived="search_key",
    not_personal="appointment_type host start end blocked_start blocked_end person language status uid sequence "
                 "regarding_type regarding_id offer created_by created_at updated_at",
)
classify(
    SlotOffer,
    personal="customer_name customer_email customer_time_zone message",
    not_personal="appointment_type mode slots person language regarding_type regarding_id created_by created_at expires_at",
)
classify(Reminder, not_personal="appointment offset claimed_at sent_at")
# The hosts' own calendars: their login and busy times are the staff's; an entry pushed there holds
# the customer's name and address in the calendar server, so an erasure writes it again (below).
classify(
    CalendarConnection,
    not_personal="user url calendar_url calendar_name username password_encrypted is_paused created_at busy_synced_at "
                 "busy_count last_run_at last_error last_error_detail last_error_at",
)
classify(BusyTime, not_personal="user start end")
classify(
    CalendarPush,
    not_personal="appointment connection href etag state pushed_start remote_start attempts last_error updated_at",
)


def _condition(person):
    condition = Q(person=person)
    addresses = emails(person)
    if addresses:
        condition |= Q(customer_email__in=addresses)
    return condition


def export_person(person) -> list[dict]:
    data = [
        {"type": "appointment", "appointment_type": a.appointment_type.name, "host": a.host.get_full_name() or a.host.username,
         "start": plain(a.start), "end": plain(a.end), "status": a.status, "name": a.customer_name,
         "email": a.customer_email, "time_zone": a.customer_time_zone, "note": a.note, "language": a.language,
         "custom_fields": customfields.personal_export(Appointment, a.custom_fields)}
        for a in Appointment.objects.filter(_condition(person)).select_related("appointment_type", "host").order_by("start", "pk")
    ]
    data += [
        {"type": "slot_offer", "appointment_type": o.appointment_type.name, "name": o.customer_name,
         "email": o.customer_email, "time_zone": o.customer_time_zone, "message": o.message,
         "slots": o.slots, "sent_at": plain(o.created_at), "expires_at": plain(o.expires_at)}
        for o in SlotOffer.objects.filter(_condition(person)).select_related("appointment_type").order_by("created_at", "pk")
    ]
    return data


def erase_person(person) -> int:
    appointments = Appointment.objects.filter(_condition(person))
    appointment_ids = list(appointments.values_list("pk", flat=True))
    customfields.erase_personal(Appointment.objects.filter(pk__in=appointment_ids))
    touched = 0
    for appointment in Appointment.objects.filter(pk__in=appointment_ids).select_related("appointment_type"):
        appointment.customer_name, appointment.customer_email = _("Erased person"), ""
        appointment.refresh_search_key()
        touched += Appointment.objects.filter(pk=appointment.pk).update(
            customer_name=appointment.customer_name, customer_email="", note="", customer_time_zone=DEFAULT_TIME_ZONE,
            search_key=appointment.search_key,
        )
    touched += SlotOffer.objects.filter(_condition(person)).update(
        customer_name=_("Erased person"), customer_email="", message="", customer_time_zone=DEFAULT_TIME_ZONE,
    )
    # The copies in the hosts' calendars are written again, without the name and address.
    from appointments.calendars.sync import push_queue

    for appointment in Appointment.objects.filter(pk__in=appointment_ids, calendar_push__isnull=False):
        push_queue(appointment=appointment)
    # Last: the history rows still hold the old name, email and note.
    Appointment.history.filter(id__in=appointment_ids).delete()
    return touched
