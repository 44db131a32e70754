"""The API representation of tickets and queues. Writes go through the pages' forms and the
same services (service.services), so a rule lives in one place: a reply is queued in the outbox
as the page's reply is, a status change runs `ticket_set_status` (survey, reopen) as the page's."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from crm.api.forms import CustomFieldsField, CustomFieldsSerializerMixin, FormSerializer, form_errors
from crm.api.representation import ModelSerializer
from service import services
from service.forms import ReplyForm, TicketCreateForm, TicketForm
from service.models import ServiceTeam, Ticket, TicketMessage

TICKET_FIELDS = [
    "id", "number", "subject", "description", "status", "priority", "channel", "tier", "language", "person",
    "organization", "category", "team", "assignee", "product", "related_deal", "tags", "is_complaint",
    "complaint_cause", "complaint_measures", "complaint_compensation", "first_response_due", "resolution_due",
    "first_responded_at", "resolved_at", "reopened_count", "routing_explanation", "merged_into", "created_at",
    "custom_fields", "updated_at",
]
READ_ONLY = [
    "id", "number", "description", "channel", "tier", "language", "person", "organization", "first_response_due",
    "resolution_due", "first_responded_at", "resolved_at", "reopened_count", "routing_explanation", "merged_into",
    "created_at", "updated_at",
]


class TicketSerializer(CustomFieldsSerializerMixin, FormSerializer):
    """A ticket; an update goes through the edit page's form and `ticket_update` (a status
    change there is the page's status change)."""

    form_class = TicketForm
    number = serializers.CharField(read_only=True)
    custom_fields = CustomFieldsField()

    class Meta:
        model = Ticket
        fields = TICKET_FIELDS
        read_only_fields = READ_ONLY

    def form_kwargs(self):
        return {"user": self.context["user"]}

    def form_extra_data(self, data):
        # The version the edit page carries: the record as the viewset locked it (If-Match is the
        # API's check of a stale write).
        return {"version": str(self.instance.version)} if self.instance is not None and self.instance.pk else {}

    def update(self, instance, validated_data):
        changes = validated_data["form"].cleaned_record_data()
        version = changes.pop("version")
        return services.ticket_update(ticket_id=instance.pk, version=version, changes=changes, user=self.context["user"])


class TicketCreateSerializer(FormSerializer):
    """A new ticket, as the "New ticket" page makes it: routed, with its SLA and first message."""

    form_class = TicketCreateForm
    person = serializers.IntegerField(required=False, allow_null=True, help_text=_("Number of the person"))

    class Meta:
        model = Ticket
        fields = ["subject", "description", "person", "channel", "category", "priority", "product"]

    def form_kwargs(self):
        return {"user": self.context["user"]}

    def to_representation(self, instance):
        return TicketSerializer(instance, context=self.context).data

    def create(self, validated_data):
        data = validated_data["form"].cleaned_data
        return services.ticket_create(
            subject=data["subject"], description=data["description"], person=data["person"], channel=data["channel"],
            category=data["category"], priority=data["priority"], product=data["product"], author=self.context["user"],
        )


class TicketMessageSerializer(ModelSerializer):
    class Meta:
        model = TicketMessage
        fields = ["id", "kind", "body", "author", "from_email", "created_at"]
        read_only_fields = fields


class ReplySerializer(serializers.Serializer):
    """A public reply (emailed to the customer through the outbox) or an internal note, through
    the reply form of the ticket page."""

    body = serializers.CharField(help_text=_("The message."))
    status = serializers.ChoiceField(
        choices=Ticket.Status.choices, required=False, allow_blank=True, help_text=_("Then set this status."),
    )

    public = True

    def validate(self, attrs):
        form = ReplyForm({"body": attrs["body"], "public": "1" if self.public else "0",
                          "status": attrs.get("status", "")})
        if not form.is_valid():
            raise serializers.ValidationError(form_errors(form))
        return form.cleaned_data

    def save(self, *, ticket, author):
        data = self.validated_data
        return services.ticket_reply(ticket=ticket, author=author, body=data["body"], public=self.public, status=data["status"])


class NoteSerializer(ReplySerializer):
    public = False


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Ticket.Status.choices)


class QueueSerializer(ModelSerializer):
    class Meta:
        model = ServiceTeam
        fields = ["id", "name", "lead", "agents", "channels"]
        read_only_fields = fields
