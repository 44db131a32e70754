"""The appointments app's pages for the page-frame walk and the access matrix (crm/tests/catalogue.py)."""

from datetime import timedelta

from django.utils import timezone

from appointments import services
from appointments.models import AvailabilityException, SlotOffer
from appointments.tests.factories import AppointmentFactory, AppointmentTypeFactory, AvailabilityFactory
from crm.roles import Role

EDIT_PAGES = {"appointments:type_update"}
POST_ONLY_PAGES = {
    "appointments:appointment_outcome", "appointments:appointment_cancel", "appointments:exception_delete",
    "api:appointment-cancel", "appointments:calendar_entry_resolve", "appointments:calendar_connection_sync",
    "appointments:calendar_connection_disconnect", "appointments:calendar_connection_pause",
}
# The API (JSON) as the pages: every CRM role reads appointments, their types and free slots (the
# admin's appointment included); only the host's managers change it (POST only, see above).
CUSTOMER_PAGES = {
    "appointments:public_book", "appointments:public_offer_slot", "appointments:public_done",
    "appointments:public_manage", "appointments:calendar_feed",
}
PUBLIC_PAGES = set(CUSTOMER_PAGES)


def records(base: dict) -> dict:
    admin_user = base["user"]
    availability = AvailabilityFactory(user=admin_user)
    kind = AppointmentTypeFactory(host_user=admin_user, min_notice=0)
    appointment = AppointmentFactory(appointment_type=kind, person=base.get("person"), note="Bitte Angebot mitbringen")
    now = timezone.now()
    exception = AvailabilityException.objects.create(user=admin_user, start=now + timedelta(days=20), end=now + timedelta(days=21))
    offer = SlotOffer.objects.create(
        appointment_type=kind, customer_name="Erika Mustermann", customer_email="erika@example.de",
        slots=[{"start": (now + timedelta(days=3)).isoformat(), "host": admin_user.pk}], expires_at=now + timedelta(days=14),
    )
    return {
        "appointment_availability": availability,
        "appointment_type": kind,
        "appointment": appointment,
        "appointment_exception": exception,
        "appointment_offer": offer,
    }


def url_kwargs(records) -> dict[str, dict]:
    appointment, kind, offer = records["appointment"], records["appointment_type"], records["appointment_offer"]
    manage = services.manage_token(appointment)
    start = offer.slots[0]["start"]
    from datetime import datetime

    return {
        "appointments:appointment_detail": {"pk": appointment.pk},
        "appointments:appointment_history": {"pk": appointment.pk},
        "appointments:appointment_outcome": {"pk": appointment.pk},
        "appointments:appointment_cancel": {"pk": appointment.pk},
        "appointments:calendar_entry_resolve": {"pk": appointment.pk},
        "appointments:type_update": {"pk": kind.pk},
        "appointments:exception_delete": {"pk": records["appointment_exception"].pk},
        "appointments:calendar_feed": {"token": records["appointment_availability"].feed_token},
        "appointments:public_book": {"token": services.booking_token(appointment_type=kind)},
        "appointments:public_offer_slot": {
            "token": services.slot_token(offer=offer, start=datetime.fromisoformat(start), host_id=kind.host_user_id)
        },
        "appointments:public_done": {"token": manage},
        "appointments:public_manage": {"token": manage},
        "api:appointment-detail": {"pk": appointment.pk},
        "api:appointment-cancel": {"pk": appointment.pk},
        "api:appointment-type-detail": {"pk": kind.pk},
    }


def url_queries(records) -> dict[str, str]:
    query = {"appointments:calendar": "view=week", "appointments:team_calendar": "view=day",
             "api:appointment-slots": f"type={records['appointment_type'].pk}"}
    if records.get("person") is not None:
        query["appointments:offer_create"] = f"person={records['person'].pk}"
        query["appointments:appointment_enter"] = f"person={records['person'].pk}"
    return query


def expected(name: str, role: str) -> set[int] | None:
    if role == Role.ADMIN:
        return None
    if name in EDIT_PAGES:
        return {403}
    if name == "appointments:appointment_enter" and role in (Role.MARKETING, Role.MEMBERSHIP_MANAGER):
        return {403}
    return None
