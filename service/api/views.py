"""Tickets and queues over the API: the same querysets, FilterSet, forms and services as the
pages (crm.api.viewsets.RecordViewSet does access, ETags and idempotency).

As on the pages: sales roles read the tickets of their customers, service staff work them; a
ticket the user may not see answers 404 on every URL of it, whatever the role, and a URL only
answers to its method (405) before anything else, as the pages' POST actions do."""

from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from contacts.models import Tag
from crm.api.viewsets import PageRulesMixin, RecordViewSet
from service import services
from service.api import serializers
from service.filters import TicketFilter
from service.models import QUEUE_SCOPES, ServiceTeam, Ticket, TicketMessage, default_queue
from service.views import MESSAGES_ON_PAGE, TICKET_READERS, TICKET_WORKERS


@extend_schema_view(
    list=extend_schema(
        description="Tickets, filtered like the ticket list: a queue (`scope`: mine, team, unassigned, all; by "
        "default your own queue for service staff, all for the others) and open tickets unless `status` is given.",
        parameters=[OpenApiParameter("scope", OpenApiTypes.STR, enum=list(QUEUE_SCOPES))],
    ),
    create=extend_schema(request=serializers.TicketCreateSerializer, responses={201: serializers.TicketSerializer}),
)
class TicketViewSet(PageRulesMixin, RecordViewSet):
    model = Ticket
    serializer_class = serializers.TicketSerializer
    filterset_class = TicketFilter
    allowed_roles = TICKET_READERS
    write_roles = TICKET_WORKERS
    http_method_names = ["get", "post", "put", "patch", "head", "options"]  # tickets are closed, not deleted
    # Keyset pagination sorts by columns without NULLs: the due times have them, so the API
    # sorts by these (the page's "due" order is a filter away: `?ordering=created` with `sla`).
    ordering_fields = {
        "created": ("created_at",),
        "updated": ("updated_at",),
        "priority": ("priority", "created_at"),
        "subject": ("subject",),
    }
    default_ordering = "-created"

    def base_queryset(self):
        # The representation names related records by id only: no joins, the tags' ids prefetched.
        return super().base_queryset().prefetch_related(Prefetch("tags", queryset=Tag.objects.only("id")))

    def get_serializer_class(self):
        if self.action == "create":
            return serializers.TicketCreateSerializer
        return super().get_serializer_class()

    def filter_queryset(self, queryset):
        params = self.request.query_params
        scope = params.get("scope", "")
        queryset = queryset.queue(self.request.user, scope if scope in QUEUE_SCOPES else default_queue(self.request.user))
        if not params.getlist("status"):
            queryset = queryset.open()
        queryset = super().filter_queryset(queryset)
        return queryset.distinct() if params.get("tag") else queryset

    # --- actions of the ticket page --------------------------------------------------------

    def _message(self, serializer_class, request):
        with transaction.atomic():
            ticket = self.editable_object()  # 404 / 403 / 412 before the body is read, as on the page
            serializer = serializer_class(data=request.data)
            serializer.is_valid(raise_exception=True)
            message = serializer.save(ticket=ticket, author=request.user)
        ticket = self.reloaded(ticket)
        return Response(serializers.TicketMessageSerializer(message).data, status=status.HTTP_201_CREATED,
                        headers={"ETag": self.etag(ticket)})

    @extend_schema(request=serializers.ReplySerializer, responses={201: serializers.TicketMessageSerializer},
                   description="A public reply: emailed to the customer (through the outbox, after the request).")
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        return self._message(serializers.ReplySerializer, request)

    @extend_schema(request=serializers.NoteSerializer, responses={201: serializers.TicketMessageSerializer},
                   description="An internal note: never shown or sent to the customer.")
    @action(detail=True, methods=["post"])
    def note(self, request, pk=None):
        return self._message(serializers.NoteSerializer, request)

    @extend_schema(request=serializers.StatusSerializer, responses={200: serializers.TicketSerializer},
                   description="Sets the status as the ticket page does: resolving sends the survey, "
                   "leaving resolved or closed reopens the ticket (with a new SLA).")
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        with transaction.atomic():
            ticket = self.editable_object()
            serializer = serializers.StatusSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            if serializer.validated_data["status"] != ticket.status:
                services.ticket_set_status(ticket=ticket, status=serializer.validated_data["status"], user=request.user)
        ticket = self.reloaded(ticket)
        return Response(serializers.TicketSerializer(ticket, context=self.get_serializer_context()).data,
                        headers={"ETag": self.etag(ticket)})

    @extend_schema(responses={200: serializers.TicketMessageSerializer(many=True)},
                   description="The conversation, oldest first (at most 200 messages), internal notes included.")
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def messages(self, request, pk=None):
        ticket = self.get_object()
        rows = TicketMessage.objects.filter(ticket=ticket).order_by("created_at", "pk")[:MESSAGES_ON_PAGE]
        return Response(serializers.TicketMessageSerializer(rows, many=True).data)


class QueueViewSet(PageRulesMixin, RecordViewSet):
    """The service teams whose queues tickets are routed to (read only, as the list page's team
    filter offers them)."""

    model = ServiceTeam
    serializer_class = serializers.QueueSerializer
    allowed_roles = TICKET_READERS
    http_method_names = ["get", "head", "options"]
    read_budget = False  # teams hold no customer data
    ordering_fields = {"name": ("name",)}
    default_ordering = "name"

    def base_queryset(self):
        return ServiceTeam.objects.prefetch_related("agents")
