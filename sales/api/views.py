"""Sales over the API: short declarations over the same querysets, FilterSets, forms and
services as the pages (crm.api.viewsets.RecordViewSet does access, ETags and idempotency).

Who may write is the pages' rule: the sales roles (SALES_WRITERS) change leads and deals they
may edit (`editable_by`), admins change products and pipelines (in the administration). A
record the user may not see is 404 for every method, a refusal by role included (as the pages:
a 403 there would tell that it exists)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api.batch import BatchUpsertMixin
from crm.api.exceptions import Conflict
from crm.api.forms import form_errors, form_value
from crm.api.viewsets import RecordViewSet
from crm.roles import Role, has_role
from sales import services
from sales.api import serializers
from sales.filters import DealFilter, LeadFilter
from sales.forms import LeadConvertForm
from sales.models import Deal, Lead, LineItem, Pipeline, PriceList, PriceListItem, Product, Stage
from sales.views.common import SALES_WRITERS


def _posted(form_class, body: dict) -> MultiValueDict:
    """A JSON body as a browser would post the form (a field left out: posted empty)."""
    data = MultiValueDict()
    for name, field in form_class.base_fields.items():
        value = form_value(field, body.get(name))
        data.setlist(name, value if isinstance(value, list) else [value])
    return data


class SalesRecordViewSet(RecordViewSet):
    """Leads and deals: every CRM role reads what `visible_to` shows it (nothing, for the roles
    outside sales); the sales roles create, and change what `editable_by` lets them."""

    def check_writer(self):
        if not has_role(self.request.user, *SALES_WRITERS):
            raise exceptions.PermissionDenied(_("Your role may not change these records."))

    def editable_object(self):
        obj = self.get_object()  # 404 first: a hidden record is not refused by role
        self.check_writer()
        if not self.model.objects.editable_by(self.request.user).filter(pk=obj.pk).exists():
            raise exceptions.PermissionDenied(_("You may see this record but not change it."))
        obj = self.model._base_manager.select_for_update().get(pk=obj.pk)
        self.check_if_match(obj)
        return obj

    def create(self, request, *args, **kwargs):
        self.check_writer()
        return super().create(request, *args, **kwargs)


@extend_schema_view(list=extend_schema(description="Leads, filtered like the lead list (`q` searches as the global search does)."))
class LeadViewSet(SalesRecordViewSet):
    model = Lead
    serializer_class = serializers.LeadSerializer
    filterset_class = LeadFilter
    ordering_fields = {
        "name": ("last_name", "first_name"),
        "company": ("company",),
        "status": ("status", "created_at"),
        "created": ("created_at",),
        "updated": ("updated_at",),
    }
    default_ordering = "-created"

    @extend_schema(
        request=serializers.LeadConvertSerializer,
        responses={200: serializers.LeadConvertResultSerializer},
        description="Convert the lead as its conversion page does: into a person, an organization and optionally a deal.",
    )
    @action(detail=True, methods=["post"])
    def convert(self, request, pk=None):
        with transaction.atomic():
            lead = self.editable_object()
            if not lead.is_open:
                raise Conflict(_("This lead is already converted or disqualified."))
            body = request.data if isinstance(request.data, dict) else None
            if body is None:
                raise exceptions.ValidationError({"non_field_errors": [_("Send a JSON object.")]})
            form = LeadConvertForm(_posted(LeadConvertForm, body), user=request.user)
            if not form.is_valid():
                raise exceptions.ValidationError(form_errors(form))
            cleaned = form.cleaned_data
            try:
                person, organization, deal = services.lead_convert(
                    lead=lead, user=request.user, organization=cleaned["organization"],
                    create_deal=cleaned["create_deal"], deal_name=cleaned["deal_name"], stage=cleaned["stage"],
                    amount=cleaned["amount"],
                )
            except DjangoValidationError as error:
                raise exceptions.ValidationError(
                    getattr(error, "message_dict", None) or {"non_field_errors": error.messages}
                ) from None
        lead = self.reloaded(lead)
        return Response({
            "person": person.pk, "organization": organization.pk if organization else None,
            "deal": deal.pk if deal else None, "lead": self.get_serializer(lead).data,
        }, headers={"ETag": self.etag(lead)})


class PipelineViewSet(RecordViewSet):
    """Pipelines with their stages: every CRM role reads them (the board shows them to all);
    admins set them up in the administration."""

    model = Pipeline
    serializer_class = serializers.PipelineSerializer
    http_method_names = ["get", "head", "options"]
    read_budget = False  # no customer data
    ordering_fields = {"position": ("position", "name")}
    default_ordering = "position"

    def base_queryset(self):
        return Pipeline.objects.prefetch_related(Prefetch("stages", queryset=Stage.objects.order_by("order", "pk")))


class StageViewSet(RecordViewSet):
    model = Stage
    serializer_class = serializers.StageSerializer
    http_method_names = ["get", "head", "options"]
    read_budget = False
    ordering_fields = {"order": ("pipeline_id", "order")}
    default_ordering = "order"

    def base_queryset(self):
        return Stage.objects.all()


@extend_schema_view(list=extend_schema(description="Deals, filtered like the deal list (`q` searches as the global search does)."))
class DealViewSet(BatchUpsertMixin, SalesRecordViewSet):
    model = Deal
    serializer_class = serializers.DealSerializer
    filterset_class = DealFilter
    ordering_fields = {
        "name": ("name",),
        "amount": ("amount",),
        "close": ("expected_close_date",),
        "created": ("created_at",),
        "updated": ("updated_at",),
    }
    default_ordering = "-created"

    def base_queryset(self):
        line_items = Prefetch("line_items", queryset=LineItem.objects.order_by("position", "pk"))
        return super().base_queryset().prefetch_related(line_items)

    def check_batch_allowed(self):
        self.check_writer()

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        # The team filter joins the owner's teams (one row per team, as on the list page).
        return queryset.distinct() if self.request.query_params.get("team") else queryset

    @extend_schema(
        request=serializers.DealMoveSerializer,
        responses={200: serializers.DealSerializer},
        description="Move the deal to a stage of its pipeline, with the board's rules (a refusal is 409).",
    )
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        with transaction.atomic():
            deal = self.editable_object()
            body = request.data if isinstance(request.data, dict) else {}
            stage_id = body.get("stage")
            if isinstance(stage_id, bool) or not isinstance(stage_id, (int, str)) or not str(stage_id).isdigit() \
                    or len(str(stage_id)) > 18:
                raise exceptions.ValidationError({"stage": [_("Unknown stage.")]})
            stage = Stage.objects.filter(pk=int(stage_id)).first()
            if stage is None:
                raise exceptions.ValidationError({"stage": [_("Unknown stage.")]})
            try:
                deal = services.deal_move(deal=deal, stage=stage, user=request.user)
            except DjangoPermissionDenied:
                raise exceptions.PermissionDenied(_("You may see this record but not change it.")) from None
            except services.MoveRefused as refused:
                raise Conflict(" ".join(refused.messages)) from None
        deal = self.reloaded(deal)
        return Response(self.get_serializer(deal).data, headers={"ETag": self.etag(deal)})


class ProductViewSet(BatchUpsertMixin, RecordViewSet):
    """Products: every CRM role reads the catalogue (deals' line items name them); admins make
    and change them, as in the administration. A batch matches them by external id, else by
    article number."""

    model = Product
    serializer_class = serializers.ProductSerializer
    write_roles = (Role.ADMIN,)
    read_budget = False  # no customer data
    ordering_fields = {"name": ("name",), "sku": ("sku",)}
    default_ordering = "name"
    batch_keys = {"sku": ("sku",)}

    def base_queryset(self):
        return Product.objects.all()

    def batch_editable(self):
        return Product.objects.all()  # write_roles let only admins send the batch

    def editable_object(self):
        obj = Product._base_manager.select_for_update().get(pk=self.get_object().pk)
        self.check_if_match(obj)
        return obj


class PriceListViewSet(RecordViewSet):
    """Price lists with their prices: every CRM role reads them (quotes use them); admins make
    and change them, as in the administration."""

    model = PriceList
    serializer_class = serializers.PriceListSerializer
    write_roles = (Role.ADMIN,)
    read_budget = False  # no customer data
    ordering_fields = {"name": ("name",)}
    default_ordering = "name"

    def base_queryset(self):
        return PriceList.objects.prefetch_related(Prefetch("items", queryset=PriceListItem.objects.order_by("pk")))

    def editable_object(self):
        obj = PriceList._base_manager.select_for_update().get(pk=self.get_object().pk)
        self.check_if_match(obj)
        return obj


class PriceListItemViewSet(RecordViewSet):
    """The prices of a price list (`price_list=<id>`): read by all, written by admins."""

    model = PriceListItem
    serializer_class = serializers.PriceListItemSerializer
    write_roles = (Role.ADMIN,)
    read_budget = False
    filterset_fields = ["price_list", "product"]
    ordering_fields = {"id": ("id",)}
    default_ordering = "id"

    def base_queryset(self):
        return PriceListItem.objects.all()

    def editable_object(self):
        obj = PriceListItem._base_manager.select_for_update().get(pk=self.get_object().pk)
        self.check_if_match(obj)
        return obj
