from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.models import Appointment
from crm.search import SearchProvider


def _describe(appointment):
    return (
        f"{appointment.customer_name} · {appointment.appointment_type.name}",
        f"{timezone.localtime(appointment.start):%d.%m.%Y %H:%M} · {appointment.get_status_display()}",
    )


PROVIDER = SearchProvider(
    kind="appointments",
    label=_("Appointments"),
    model=Appointment,
    describe=_describe,
    icon="calendar-event",
    order=60,
    select_related=("appointment_type",),
)
