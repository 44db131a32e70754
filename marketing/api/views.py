"""Campaigns, segments and consents over the API: the same querysets, FilterSets, forms and
services as the pages (crm.api.viewsets.RecordViewSet does access, ETags and idempotency).

As on the pages: marketing and admins change campaigns (EDIT_ROLES), the sales roles read them
(READ_ROLES), service roles see none (404 on a campaign, 403 on the lists). Campaigns are not
deleted (the pages have no delete either). Consents are shown to everybody who may see the
person, as the person page's marketing panel does; they change only through the consent
services, by the roles that change marketing records."""

from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response

from contacts.models import Person
from crm.api.exceptions import Conflict
from crm.api.idempotency import idempotent
from crm.api.viewsets import PageRulesMixin, RecordViewSet
from crm.roles import ALL_ROLES
from marketing import services
from marketing.api import serializers
from marketing.filters import CampaignFilter, ConsentFilter, SegmentFilter
from marketing.models import EDIT_ROLES, READ_ROLES, Campaign, Consent, Segment

SEGMENT_ORDERING = {"name": ("name",), "updated": ("updated_at",)}
MEMBER_ORDERING = {"name": ("last_name", "first_name"), "created": ("created_at",)}


@extend_schema_view(
    list=extend_schema(description="Campaigns, filtered like the campaign list (`q` searches as the global search does)."),
    create=extend_schema(description="A campaign, as the “New campaign” page makes it (you as the owner unless named)."),
)
class CampaignViewSet(PageRulesMixin, RecordViewSet):
    model = Campaign
    serializer_class = serializers.CampaignSerializer
    filterset_class = CampaignFilter
    allowed_roles = READ_ROLES
    write_roles = EDIT_ROLES
    http_method_names = ["get", "post", "put", "patch", "head", "options"]  # the pages delete no campaign
    ordering_fields = {
        "name": ("name",),
        "channel": ("channel", "created_at"),
        "status": ("status", "created_at"),
        "created": ("created_at",),
        "updated": ("updated_at",),
    }
    default_ordering = "-created"
    read_budget = False  # campaigns hold no customer data

    def base_queryset(self):
        # The representation names related records by id: the segments' ids prefetched, no joins.
        return super().base_queryset().prefetch_related(Prefetch("segments", queryset=Segment.objects.only("id")))

    @extend_schema(
        request=None,
        responses={202: serializers.CampaignSerializer},
        description="Start the send as the campaign page's button does: only an email campaign in draft with a "
        "template (otherwise 409). The recipients are listed and the messages sent by the workers, after the "
        "request; follow `status` and `send_finished_at` (or subscribe to `campaign.send_finished`).",
    )
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        with transaction.atomic():
            campaign = self.editable_object()
            try:
                services.campaign_start_send(campaign=campaign, user=request.user)
            except services.SendRefused as refusal:
                raise Conflict(str(refusal)) from None
        campaign = self.reloaded(campaign)
        return Response(self.get_serializer(campaign).data, status=status.HTTP_202_ACCEPTED,
                        headers={"ETag": self.etag(campaign)})

    @extend_schema(
        responses={200: serializers.CampaignResultsSerializer},
        description="The campaign's figures as its page shows them: members targeted and responded, emails sent, "
        "delivered, opened, clicked and bounced, people who unsubscribed, and the leads, deals and won revenue "
        "(in the company currency) attributed to its code, with cost per lead and return on investment.",
    )
    @action(detail=True, methods=["get"], filterset_class=None, serializer_class=serializers.CampaignResultsSerializer)
    def results(self, request, pk=None):
        campaign = self.get_object()
        figures = services.campaign_results([campaign])[campaign.pk]
        return Response(serializers.CampaignResultsSerializer({"campaign": campaign.pk, **figures}).data)


@extend_schema_view(list=extend_schema(description="Segments, filtered like the segment list."))
class SegmentViewSet(PageRulesMixin, RecordViewSet):
    """Segments: read by the roles that read campaigns; made on the segment pages."""

    model = Segment
    serializer_class = serializers.SegmentSerializer
    filterset_class = SegmentFilter
    allowed_roles = READ_ROLES
    http_method_names = ["get", "head", "options"]
    read_budget = False  # the segment itself is a filter; its members count (see members)

    default_ordering = "name"

    @property
    def ordering_fields(self):
        # The members list sorts people, the list segments (both by name by default).
        return MEMBER_ORDERING if self.action == "members" else SEGMENT_ORDERING

    @extend_schema(
        responses={200: serializers.SegmentMemberSerializer(many=True)},
        description="The people the segment selects now (it is evaluated when asked), paged by cursor. They count "
        "against the read budget of roles without the export permission, as every list of people does.",
    )
    @action(detail=True, methods=["get"], filterset_class=None, serializer_class=serializers.SegmentMemberSerializer)
    def members(self, request, pk=None):
        segment = self.get_object()
        people = (
            segment.people().filter(pk__in=Person.objects.visible_to(request.user).values("pk"))
            .only("id", "first_name", "last_name", "academic_title", "email", "city", "lifecycle_stage", "created_at")
        )
        self.read_budget = True
        page = self.paginate_queryset(people)
        return self.get_paginated_response(serializers.SegmentMemberSerializer(page, many=True).data)


@extend_schema_view(
    list=extend_schema(description="Consents per person, purpose and channel, with the source and time of the last "
                       "change; filter by `person`, `purpose`, `channel`, `status`, `source`."),
    create=extend_schema(
        request=serializers.ConsentChangeSerializer,
        responses={200: serializers.ConsentSerializer, 201: serializers.ConsentSerializer},
        description="Grant or withdraw a consent with its evidence; recorded in the person's consent history "
        "(who, when, source, text version, address) and reported as `consent.granted` / `consent.withdrawn`. "
        "The current consent is answered: 201 when the person had none for this purpose and channel yet.",
    ),
)
class ConsentViewSet(PageRulesMixin, RecordViewSet):
    model = Consent
    serializer_class = serializers.ConsentSerializer
    filterset_class = ConsentFilter
    allowed_roles = ALL_ROLES
    write_roles = EDIT_ROLES
    http_method_names = ["get", "post", "head", "options"]  # changed by grant, withdrawal or unsubscribe only
    ordering_fields = {"changed": ("changed_at",), "person": ("person_id", "purpose", "channel")}
    default_ordering = "-changed"

    def base_queryset(self):
        return Consent.objects.filter(person__in=Person.objects.visible_to(self.request.user))

    def _evidence(self, data: dict) -> dict:
        """The address and browser of the person, when the client names them; never the client's own."""
        return {"ip_address": data.get("ip_address"), "user_agent": data.get("user_agent", "")}

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = serializers.ConsentChangeSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        person, purpose, channel = data["person"], data["purpose"], data["channel"]
        with transaction.atomic():
            existed = Consent.objects.filter(person=person, purpose=purpose, channel=channel).exists()
            double_opt_in = (
                data["status"] == Consent.Status.GRANTED and purpose == Consent.Purpose.NEWSLETTER
                and channel == Consent.Channel.EMAIL and data["source"] != Consent.Source.DOUBLE_OPT_IN
            )
            if double_opt_in:
                # As the web form: email newsletter consent waits for the person's confirmation.
                if not person.email:
                    raise exceptions.ValidationError({"person": [_("This person has no email address to confirm with.")]})
                consent = services.consent_request_double_opt_in(
                    person=person, text_version=data["text_version"], source=data["source"], campaign=data["campaign"],
                    user=request.user, **self._evidence(data),
                )
            else:
                consent = services.consent_set(
                    person=person, status=data["status"], source=data["source"], purpose=purpose, channel=channel,
                    text_version=data["text_version"], campaign=data["campaign"], user=request.user,
                    **self._evidence(data),
                )
        consent = self.reloaded(consent)
        body = self.get_serializer(consent).data
        headers = {"ETag": self.etag(consent), "Location": self.detail_url(consent)}
        return Response(body, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED, headers=headers)

    @extend_schema(
        request=serializers.UnsubscribeSerializer,
        responses={200: serializers.ConsentSerializer(many=True)},
        description="Unsubscribe as the link in every campaign email does: withdraws the newsletter consent by "
        "email of the person (or of everybody you may see with the address), source “unsubscribe”; again "
        "changes nothing. With `campaign`, the person is marked as opted out of it.",
    )
    @action(detail=False, methods=["post"])
    def unsubscribe(self, request):
        serializer = serializers.UnsubscribeSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        campaign = data["campaign"]
        with transaction.atomic():
            consents = [
                services.unsubscribe(person=person, campaign_id=campaign.pk if campaign else None, user=request.user,
                                     **self._evidence(data))
                for person in data["people"]
            ]
        return Response(self.get_serializer(consents, many=True).data)
