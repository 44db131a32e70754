"""The API representation of campaigns, segments and consents. Writes go through the pages'
forms and the same services (marketing.services), so a rule lives in one place: a campaign is
saved by the campaign page's form, a send starts through `campaign_start_send` (which only
enqueues it), and every consent change runs `consent_set` (with its history row and webhook),
`consent_request_double_opt_in` or `unsubscribe`, as the public pages do."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.models import Person
from crm.api.forms import FormSerializer, form_value
from crm.api.representation import ModelSerializer
from crm.forms import parse_id
from marketing.forms import CampaignForm
from marketing.models import Campaign, Consent, Segment

# What a client may set a consent to (pending is the double opt-in's, see ConsentChangeSerializer).
CHANGE_STATUSES = [(s.value, s.label) for s in (Consent.Status.GRANTED, Consent.Status.WITHDRAWN)]
# What the campaign page no longer lets change once a send started (CampaignForm disables them).
FROZEN_AFTER_SEND = ("template", "channel", "code")


class CampaignResultsSerializer(serializers.Serializer):
    """marketing.services.campaign_results of one campaign (what its page and the results page show)."""

    campaign = serializers.IntegerField()
    targeted = serializers.IntegerField()
    responded = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    opened = serializers.IntegerField()
    clicked = serializers.IntegerField()
    bounced = serializers.IntegerField()
    unsubscribed = serializers.IntegerField()
    leads = serializers.IntegerField()
    deals = serializers.IntegerField()
    won_deals = serializers.IntegerField()
    won_revenue = serializers.DecimalField(max_digits=None, decimal_places=2)
    unconverted = serializers.IntegerField(help_text="Won deals without an exchange rate (not in won_revenue).")
    cost = serializers.DecimalField(max_digits=None, decimal_places=2, allow_null=True)
    cost_per_lead = serializers.DecimalField(max_digits=None, decimal_places=2, allow_null=True)
    roi = serializers.DecimalField(max_digits=None, decimal_places=1, allow_null=True, help_text="Percent.")


class CampaignSerializer(FormSerializer):
    """A campaign; create and update go through the campaign page's form."""

    form_class = CampaignForm

    class Meta:
        model = Campaign
        fields = [
            "id", "name", "code", "channel", "status", "goal", "budget", "cost", "start_date", "end_date", "owner",
            "segments", "template", "send_started_at", "recipients_ready_at", "send_finished_at", "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id", "status", "send_started_at", "recipients_ready_at", "send_finished_at", "created_at", "updated_at",
        ]

    def form_kwargs(self):
        # The create page offers the user as the owner (CampaignForm's initial value).
        return {"user": self.context["user"]}

    def validate_after_form(self, form, data):
        # The page shows these fields disabled (and ignores them); the API says why it does not take them.
        if self.instance is not None and self.instance.pk and self.instance.status != Campaign.Status.DRAFT:
            errors = {
                name: [_("What was sent stays as it was sent: this field can only change in a draft.")]
                for name in FROZEN_AFTER_SEND
                if name in data and form_value(form.fields[name], data[name]) != form_value(form.fields[name], form.initial.get(name))
            }
            if errors:
                raise serializers.ValidationError(errors)


class SegmentSerializer(ModelSerializer):
    definition = serializers.JSONField(read_only=True, help_text=_("The segment's filter, as the segment page saves it."))

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "definition", "owner", "created_at", "updated_at"]
        read_only_fields = fields


class SegmentMemberSerializer(ModelSerializer):
    """A person of a segment, with what the segment page's preview shows."""

    full_name = serializers.CharField(read_only=True)

    class Meta:
        model = Person
        fields = ["id", "first_name", "last_name", "full_name", "email", "city", "lifecycle_stage"]
        read_only_fields = fields


class ConsentSerializer(ModelSerializer):
    class Meta:
        model = Consent
        fields = ["id", "person", "purpose", "channel", "status", "source", "text_version", "ip_address", "changed_at"]
        read_only_fields = fields


def _visible_people(serializer):
    return Person.objects.visible_to(serializer.context["user"])


@extend_schema_field(OpenApiTypes.INT)
class SafePrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """An id, or the "unknown" error for anything that cannot be one (a number too big for the
    database makes SQLite raise OverflowError)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or parse_id(data) is None:
            self.fail("does_not_exist", pk_value=str(data)[:30])
        return super().to_internal_value(parse_id(data))


class VisiblePersonField(SafePrimaryKeyField):
    """A person the user may see (any other id is an unknown one)."""

    def get_queryset(self):
        return _visible_people(self.parent)


class CampaignField(SafePrimaryKeyField):
    def get_queryset(self):
        return Campaign.objects.visible_to(self.parent.context["user"])


class ConsentChangeSerializer(serializers.Serializer):
    """A grant or a withdrawal with its evidence: where and how it was given (source), the
    version of the consent text, and, when the person gave it online, their address and browser."""

    person = VisiblePersonField(help_text=_("The person whose consent this is."))
    purpose = serializers.ChoiceField(choices=Consent.Purpose.choices, default=Consent.Purpose.NEWSLETTER)
    channel = serializers.ChoiceField(choices=Consent.Channel.choices, default=Consent.Channel.EMAIL)
    status = serializers.ChoiceField(
        choices=CHANGE_STATUSES,
        help_text=_("Granting newsletter consent by email starts the double opt-in (the answer is “pending”) unless "
                    "the source is “double_opt_in”: the person confirmed it in your system already."),
    )
    source = serializers.ChoiceField(choices=Consent.Source.choices, help_text=_("Where and how the person gave or withdrew it."))
    text_version = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default="",
        help_text=_("The version of the consent text the person agreed to (needed for a grant)."),
    )
    ip_address = serializers.IPAddressField(required=False, allow_null=True, default=None,
                                            help_text=_("The person's address, when they gave it online."))
    user_agent = serializers.CharField(max_length=300, required=False, allow_blank=True, default="",
                                       help_text=_("The person's browser, when they gave it online."))
    campaign = CampaignField(required=False, allow_null=True, default=None, help_text=_("The campaign it came from."))

    def validate(self, attrs):
        if attrs["status"] == Consent.Status.GRANTED and not attrs["text_version"].strip():
            raise serializers.ValidationError(
                {"text_version": [_("Name the version of the consent text the person agreed to.")]}
            )
        return attrs


class UnsubscribeSerializer(serializers.Serializer):
    """As the unsubscribe link in every campaign email: withdraws newsletter consent by email."""

    person = VisiblePersonField(required=False, allow_null=True, default=None)
    email = serializers.EmailField(required=False, allow_blank=True, default="",
                                   help_text=_("Everybody you may see with this address (first or second)."))
    campaign = CampaignField(required=False, allow_null=True, default=None,
                             help_text=_("The campaign whose email the person unsubscribed from."))
    ip_address = serializers.IPAddressField(required=False, allow_null=True, default=None)
    user_agent = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if attrs["person"] is None and not attrs["email"]:
            raise serializers.ValidationError({"person": [_("Name the person or the email address.")]})
        if attrs["person"] is not None:
            attrs["people"] = [attrs["person"]]
        else:
            email = attrs["email"].strip().lower()
            people = list(
                _visible_people(self).filter(email=email).order_by("pk")[:100]
            ) + list(_visible_people(self).filter(email_secondary=email).exclude(email=email).order_by("pk")[:100])
            if not people:
                raise serializers.ValidationError({"email": [_("Nobody you may see has this email address.")]})
            attrs["people"] = people
        return attrs
