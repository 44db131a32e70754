"""Appointments over the API: the same querysets, FilterSet and services as the pages
(crm.api.viewsets.RecordViewSet does access, ETags and idempotency).

As on the pages: every CRM role reads appointments and books free slots (as anyone may offer
times); the host, the managers of the host's teams and admins move, cancel and record the
outcome (`editable_by`; 403 for the others). Appointments are cancelled, not deleted."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework import serializers as drf_serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from appointments import services
from appointments.api import serializers
from appointments.filters import AppointmentFilter, AppointmentTypeFilter
from appointments.models import Appointment, AppointmentType
from appointments.slots import compute_slots
from crm.api.exceptions import Conflict
from crm.api.idempotency import idempotent
from crm.api.viewsets import PageRulesMixin, RecordViewSet
from crm.forms import parse_id

# The longest range one slot search covers (a month of a 20-person team is a few thousand slots).
SLOT_SEARCH_DAYS = 31
SLOT_SEARCH_DEFAULT_DAYS = 7
TAKEN = _("This time is not free (any more): choose another slot.")
OUTCOME_REFUSED = _("The outcome can be recorded once the appointment has begun, and not for cancelled ones.")


@extend_schema_view(
    list=extend_schema(description="Appointments, filtered like the appointment list (`q` searches as the global "
                       "search does; `start_from`, `start_to` are days)."),
    create=extend_schema(
        request=serializers.AppointmentBookSerializer, responses={201: serializers.AppointmentSerializer},
        description="Book a free slot as the booking page does (the customer and the host get the confirmation "
        "with the calendar invitation). A slot that is not free, or no longer, is 409.",
    ),
    partial_update=extend_schema(
        request=serializers.AppointmentChangeSerializer, responses={200: serializers.AppointmentSerializer},
        description="Move the appointment (`start`: a free slot of the same host; 409 if it is not free) or record "
        "its outcome (`status`). Moves and cancellations send the updated invitation.",
    ),
)
class AppointmentViewSet(PageRulesMixin, RecordViewSet):
    model = Appointment
    serializer_class = serializers.AppointmentSerializer
    filterset_class = AppointmentFilter
    http_method_names = ["get", "post", "patch", "head", "options"]  # cancelled, not deleted
    ordering_fields = {
        "start": ("start",),
        "customer": ("customer_name",),
        "status": ("status", "start"),
        "created": ("created_at",),
        "updated": ("updated_at",),
    }
    default_ordering = "-start"

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = serializers.AppointmentBookSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            appointment = services.appointment_book(
                appointment_type=data["appointment_type"], start=data["start"], customer_name=data["customer_name"],
                customer_email=data["customer_email"], customer_time_zone=data["customer_time_zone"], note=data["note"],
                language=data["language"], person=data["person"],
                host_ids=[data["host"]] if data["host"] is not None else None, created_by=request.user,
            )
        except services.SlotTaken:
            raise Conflict(TAKEN) from None
        appointment = self.reloaded(appointment)
        return Response(self.get_serializer(appointment).data, status=status.HTTP_201_CREATED,
                        headers={"ETag": self.etag(appointment), "Location": self.detail_url(appointment)})

    def partial_update(self, request, *args, **kwargs):
        with transaction.atomic():
            appointment = self.editable_object()
            serializer = serializers.AppointmentChangeSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            if "start" in data and data["start"] != appointment.start:
                if appointment.status != Appointment.Status.BOOKED:
                    raise Conflict(_("Only a booked appointment can be moved."))
                try:
                    appointment = services.appointment_reschedule(appointment=appointment, start=data["start"])
                except services.SlotTaken:
                    raise Conflict(TAKEN) from None
            new_status = data.get("status")
            if new_status == Appointment.Status.CANCELLED:
                appointment = services.appointment_cancel(appointment=appointment)
            elif new_status is not None and new_status != appointment.status:
                try:
                    appointment = services.appointment_set_outcome(appointment=appointment, status=new_status)
                except ValueError:
                    raise Conflict(OUTCOME_REFUSED) from None
        appointment = self.reloaded(appointment)
        return Response(self.get_serializer(appointment).data, headers={"ETag": self.etag(appointment)})

    @extend_schema(request=None, responses={200: serializers.AppointmentSerializer},
                   description="Cancel as the appointment page's button does: the customer and the host are told "
                   "(the invitation is withdrawn). Cancelling a cancelled appointment changes nothing.")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        with transaction.atomic():
            appointment = services.appointment_cancel(appointment=self.editable_object())
        appointment = self.reloaded(appointment)
        return Response(self.get_serializer(appointment).data, headers={"ETag": self.etag(appointment)})

    @extend_schema(
        parameters=[
            OpenApiParameter("type", OpenApiTypes.INT, required=True, description="The appointment type."),
            OpenApiParameter("from", OpenApiTypes.DATETIME, description="From (default: now)."),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description=f"Until (default: a week on; at most {SLOT_SEARCH_DAYS} days after `from`)."),
            OpenApiParameter("host", OpenApiTypes.INT, description="Only this host's slots."),
        ],
        responses={200: serializers.SlotSerializer(many=True)},
        description="The free slots of an active appointment type, as the booking page computes them (working hours, "
        "absences, holidays, buffers, notice and horizon; times in UTC), with the hosts free at each.",
    )
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def slots(self, request):
        params = request.query_params
        errors = {}
        type_id = parse_id(params.get("type", ""))
        appointment_type = (
            AppointmentType.objects.visible_to(request.user).active().filter(pk=type_id).first() if type_id else None
        )
        if appointment_type is None:
            errors["type"] = [_("Choose an active appointment type.")]
        moments = {}
        for name in ("from", "to"):
            raw = params.get(name, "")
            if raw:
                try:
                    moments[name] = drf_serializers.DateTimeField().to_internal_value(raw)
                except drf_serializers.ValidationError as error:
                    errors[name] = error.detail
        start = moments.get("from") or timezone.now()
        end = moments.get("to") or start + timedelta(days=SLOT_SEARCH_DEFAULT_DAYS)
        if "from" not in errors and "to" not in errors and not start < end <= start + timedelta(days=SLOT_SEARCH_DAYS):
            errors["to"] = [_("Give a time after “from”, at most %(days)s days later.") % {"days": SLOT_SEARCH_DAYS}]
        host_ids = None
        if params.get("host", "") and appointment_type is not None:
            host_id = parse_id(params["host"])
            if host_id is None or host_id not in appointment_type.host_ids():
                errors["host"] = [_("Choose one of the appointment type's hosts.")]
            host_ids = [host_id]
        if errors:
            raise exceptions.ValidationError(errors)
        slots = compute_slots(appointment_type=appointment_type, start=start, end=end, host_ids=host_ids)
        return Response([{"start": s.start, "end": s.end, "hosts": list(s.host_ids)} for s in slots])


class AppointmentTypeViewSet(PageRulesMixin, RecordViewSet):
    """Appointment types (read only, as the type list shows them): what /appointments/slots/ and a booking name."""

    model = AppointmentType
    serializer_class = serializers.AppointmentTypeSerializer
    filterset_class = AppointmentTypeFilter
    http_method_names = ["get", "head", "options"]
    read_budget = False  # no customer data
    ordering_fields = {"name": ("name",), "duration": ("duration", "name")}
    default_ordering = "name"
