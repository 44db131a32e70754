"""The API representation of appointments, their types and free slots. Booking goes through
the booking page's form (the customer's name, email and note) and `appointment_book`, a move
through `appointment_reschedule`, a cancellation through `appointment_cancel`: the services
that keep a host's time from being booked twice and send the invitations."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from appointments.forms import BookingForm
from appointments.models import Appointment, AppointmentType, validate_time_zone
from contacts.models import Person
from crm.api.forms import CustomFieldsField, form_errors
from crm.api.representation import ModelSerializer
from crm.forms import parse_id

# The booking form's field names, as the API names them.
BOOKING_FIELDS = {"slot": "start", "name": "customer_name", "email": "customer_email", "note": "note"}


@extend_schema_field(OpenApiTypes.INT)
class SafePrimaryKeyField(serializers.PrimaryKeyRelatedField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or parse_id(data) is None:
            self.fail("does_not_exist", pk_value=str(data)[:30])
        return super().to_internal_value(parse_id(data))


class ActiveTypeField(SafePrimaryKeyField):
    def get_queryset(self):
        return AppointmentType.objects.visible_to(self.parent.context["user"]).active()


class VisiblePersonField(SafePrimaryKeyField):
    def get_queryset(self):
        return Person.objects.visible_to(self.parent.context["user"])


class AppointmentTypeSerializer(ModelSerializer):
    class Meta:
        model = AppointmentType
        fields = [
            "id", "name", "description", "duration", "buffer_before", "buffer_after", "slot_interval", "location_kind",
            "location_detail", "min_notice", "max_days_ahead", "host_user", "host_team", "assignment", "is_active",
        ]
        read_only_fields = fields


class AppointmentSerializer(ModelSerializer):
    custom_fields = CustomFieldsField(read_only=True)

    class Meta:
        model = Appointment
        fields = [
            "id", "appointment_type", "host", "start", "end", "status", "person", "customer_name", "customer_email",
            "customer_time_zone", "note", "language", "sequence", "custom_fields", "created_by", "created_at", "updated_at",
        ]
        read_only_fields = fields


class AppointmentBookSerializer(serializers.Serializer):
    """A booking of a free slot (see /appointments/slots/), as the booking page makes it."""

    appointment_type = ActiveTypeField(help_text=_("An active appointment type."))
    start = serializers.DateTimeField(help_text=_("The slot's start, with its time zone offset."))
    host = serializers.IntegerField(required=False, allow_null=True, default=None,
                                    help_text=_("One of the type's hosts; empty: the next free host in turn."))
    customer_name = serializers.CharField(max_length=200)
    customer_email = serializers.EmailField()
    customer_time_zone = serializers.CharField(max_length=64, default="Europe/Berlin",
                                               help_text=_("The customer's time zone, e.g. Europe/Berlin."))
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=settings.LANGUAGES, default="de",
                                       help_text=_("The language of the confirmation email."))
    person = VisiblePersonField(required=False, allow_null=True, default=None,
                                help_text=_("The person; empty: the one with the customer's email address, if only one has it."))

    def validate_customer_time_zone(self, value):
        try:
            validate_time_zone(value)
        except Exception:  # noqa: BLE001  (ValidationError of Django, or the zone database's own errors)
            raise serializers.ValidationError(_("Unknown time zone.")) from None
        if "/" not in value:
            raise serializers.ValidationError(_("Unknown time zone."))
        return value

    def validate(self, attrs):
        form = BookingForm({"slot": attrs["start"].isoformat(), "name": attrs["customer_name"],
                            "email": attrs["customer_email"], "note": attrs["note"]})
        if not form.is_valid():
            raise serializers.ValidationError({BOOKING_FIELDS.get(k, k): v for k, v in form_errors(form).items()})
        host = attrs["host"]
        if host is not None and host not in attrs["appointment_type"].host_ids():
            raise serializers.ValidationError({"host": [_("Choose one of the appointment type's hosts.")]})
        cleaned = form.cleaned_data
        return {**attrs, "start": cleaned["slot"], "customer_name": cleaned["name"],
                "customer_email": cleaned["email"], "note": cleaned["note"]}


class AppointmentChangeSerializer(serializers.Serializer):
    """A move (a new start, same host) or an outcome, as the appointment page and the customer's
    page change an appointment."""

    start = serializers.DateTimeField(required=False, help_text=_("Move to this free slot of the same host."))
    status = serializers.ChoiceField(
        choices=Appointment.Status.choices, required=False,
        help_text=_("held, no_show or booked: the outcome, once the appointment has begun; cancelled: cancel it."),
    )


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    hosts = serializers.ListField(child=serializers.IntegerField(), help_text=_("The hosts free then, in turn."))
