"""Plugs appointments into the shared machinery of crm/ (navigation, search, timeline, start page, record pages)."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import navigation, recordpage, startpage, timeline
from crm import search as crm_search
from crm.navigation import NavItem
from crm.recordpage import Action, Panel
from crm.roles import BOOKING_ROLES, has_role, is_crm_user
from crm.startpage import Widget

PANEL_LIMIT = 5


def _offer_url(obj, user):
    if not is_crm_user(user):
        return None
    label = obj._meta.label_lower
    if label == "contacts.person":
        return reverse("appointments:offer_create") + f"?person={obj.pk}"
    return reverse("appointments:offer_create") + f"?regarding={label}:{obj.pk}"


def _enter_url(obj, user):
    return reverse("appointments:appointment_enter") + f"?person={obj.pk}" if has_role(user, *BOOKING_ROLES) else None


def person_appointments(request, obj):
    """The person's next and latest appointments (two queries)."""
    from appointments.models import Appointment

    qs = Appointment.objects.visible_to(request.user).filter(person=obj).select_related("appointment_type", "host")
    now = timezone.now()
    upcoming = list(qs.filter(start__gte=now).exclude(status="cancelled").order_by("start")[:PANEL_LIMIT])
    past = list(qs.filter(start__lt=now).order_by("-start")[:PANEL_LIMIT])
    return {"upcoming": upcoming, "past": past, "offer_url": _offer_url(obj, request.user)}


def register_all() -> None:
    from appointments import benchmarks, seed  # noqa: F401  (they register themselves on import)
    from appointments import startpage as widgets
    from appointments.models import Appointment
    from appointments.search import PROVIDER
    from appointments.timeline import appointment_entries
    from crm import history

    history.register(Appointment)
    register_privacy()
    register_webhooks()

    navigation.register(
        NavItem(_("Appointments"), "appointments:appointment_list", order=60, icon="calendar-event", section="appointments:")
    )
    crm_search.register(PROVIDER)
    timeline.register(appointment_entries, kind="appointment", label=_("Appointments"), order=50)
    startpage.register(
        Widget("appointments.today", "appointments/widgets/today.html", widgets.my_appointments_today, order=9)
    )
    for label in ("contacts.person", "sales.deal", "service.ticket"):
        recordpage.register_action(
            Action(f"appointments.offer.{label}", label, _("Offer times"), url=_offer_url, icon="calendar-plus", order=50)
        )
    recordpage.register_action(
        Action("appointments.enter", "contacts.person", _("Book an appointment"), url=_enter_url, icon="calendar-check", order=51)
    )
    recordpage.register_panel(
        Panel("appointments.person", "contacts.person", "appointments/partials/person_panel.html", context=person_appointments, order=40)
    )


def register_privacy() -> None:
    from appointments import privacy as appointments_privacy
    from crm import privacy

    privacy.register(
        privacy.PrivacyProvider(
            "appointments", _("Appointments and slot offers"), export=appointments_privacy.export_person, erase=appointments_privacy.erase_person, order=50,
        )
    )


def register_webhooks() -> None:
    """Appointment webhook payloads show the appointment as the API does."""
    from crm import webhooks

    def appointment(instance):
        from appointments.api.serializers import AppointmentSerializer

        return AppointmentSerializer(instance, context={"user": None}).data

    webhooks.register_kind("appointment", appointment)
