"""The API representation of sales records. Writes go through the pages' forms
(crm.api.forms), so the API checks exactly what the pages check; the workflows (creating a
lead or deal, a stage move, a conversion) are the services the pages call."""

from django import forms
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.serializers import CountryFieldMixin  # a blank country as "", not an object
from rest_framework import serializers

from crm.api.batch import ExternalIdMixin
from crm.api.exceptions import Conflict
from crm.api.forms import CustomFieldsField, CustomFieldsSerializerMixin, FormSerializer
from crm.api.representation import ModelSerializer
from sales import services
from sales.forms import DealForm, LeadForm
from sales.models import Deal, Lead, LineItem, Pipeline, PriceList, PriceListItem, Product, Stage


class StageSerializer(ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "pipeline", "name", "order", "probability", "is_won", "is_lost"]
        read_only_fields = fields


class PipelineSerializer(ModelSerializer):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "position", "is_active", "stale_after_days", "stages"]
        read_only_fields = fields


class ProductSerializer(ExternalIdMixin, FormSerializer):
    form_class = forms.modelform_factory(
        Product, fields=["name", "sku", "description", "unit_price", "currency", "tax_rate", "is_active"]
    )

    class Meta:
        model = Product
        fields = [
            "id", "name", "sku", "description", "unit_price", "currency", "tax_rate", "is_active", "external_source",
            "external_id",
        ]
        read_only_fields = ["id"]


class PriceListItemSerializer(FormSerializer):
    """A product's price in a price list (one per product and list: the model's constraint)."""

    form_class = forms.modelform_factory(PriceListItem, fields=["price_list", "product", "unit_price"])

    class Meta:
        model = PriceListItem
        fields = ["id", "price_list", "product", "unit_price"]
        read_only_fields = ["id"]


class PriceListSerializer(FormSerializer):
    form_class = forms.modelform_factory(PriceList, fields=["name", "currency", "valid_from", "valid_until", "is_active"])
    items = PriceListItemSerializer(many=True, read_only=True)

    class Meta:
        model = PriceList
        fields = ["id", "name", "currency", "valid_from", "valid_until", "is_active", "items"]
        read_only_fields = ["id"]


class LineItemSerializer(ModelSerializer):
    class Meta:
        model = LineItem
        fields = ["id", "product", "description", "quantity", "unit_price", "discount_percent", "total", "position"]
        read_only_fields = fields


class LeadSerializer(CustomFieldsSerializerMixin, CountryFieldMixin, FormSerializer):
    form_class = LeadForm
    custom_fields = CustomFieldsField()
    full_name = serializers.CharField(read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id", "first_name", "last_name", "full_name", "email", "phone", "company", "position", "country",
            "postal_code", "city", "industry", "source", "campaign_code", "utm", "status", "disqualify_reason",
            "rating", "owner", "territory", "note", "converted_person", "converted_organization", "converted_deal",
            "converted_at", "custom_fields", "created_at", "updated_at",
        ]
        read_only_fields = [
            "id", "utm", "territory", "converted_person", "converted_organization", "converted_deal", "converted_at",
            "created_at", "updated_at",
        ]

    def form_kwargs(self):
        # The create page offers the user as the owner (LeadCreateView.get_initial).
        user = self.context["user"]
        return {"user": user, "initial": {"owner": user.pk}} if user is not None else {}

    def prepare_instance(self, instance, data):
        if instance.pk is not None and instance.status == Lead.Status.CONVERTED:
            raise Conflict(_("A converted lead is kept as it was; edit the person or deal instead."))
        return instance

    def create(self, validated_data):
        return services.lead_record_created(lead=validated_data["form"].save(commit=False))

    def update(self, instance, validated_data):
        previous_status = Lead.objects.filter(pk=instance.pk).values_list("status", flat=True).get()
        lead = validated_data["form"].save()
        if lead.status != previous_status:
            services.lead_status_changed(lead=lead)
        return lead


class LeadConvertSerializer(serializers.Serializer):
    """The conversion page's form (sales.forms.LeadConvertForm), as JSON."""

    create_deal = serializers.BooleanField(required=False, default=False)
    deal_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    stage = serializers.IntegerField(required=False, allow_null=True, help_text="An open stage of an active pipeline.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True)
    organization = serializers.IntegerField(
        required=False, allow_null=True,
        help_text="An existing organization; empty: the one found by the duplicate check, or a new one.",
    )


class LeadConvertResultSerializer(serializers.Serializer):
    person = serializers.IntegerField()
    organization = serializers.IntegerField(allow_null=True)
    deal = serializers.IntegerField(allow_null=True)
    lead = LeadSerializer()


class DealSerializer(CustomFieldsSerializerMixin, ExternalIdMixin, FormSerializer):
    form_class = DealForm
    custom_fields = CustomFieldsField()
    line_items = LineItemSerializer(many=True, read_only=True)
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.all(), help_text="An open stage; a change of stage follows the board's rules."
    )

    lost_reason = serializers.ChoiceField(choices=Deal.LostReason.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Deal
        fields = [
            "id", "name", "pipeline", "stage", "organization", "owner", "territory", "amount", "currency",
            "converted_amount", "expected_close_date", "probability", "probability_overridden", "forecast_category",
            "next_step", "source", "campaign_code", "competitor", "status", "lost_reason", "close_note", "closed_at",
            "stage_entered_at", "last_activity_at", "lead", "line_items", "external_source", "external_id",
            "custom_fields", "created_at", "updated_at",
        ]
        read_only_fields = [
            "id", "pipeline", "converted_amount", "status", "lost_reason", "close_note", "closed_at",
            "stage_entered_at", "last_activity_at", "lead", "created_at", "updated_at",
        ]

    def form_kwargs(self):
        return {"user": self.context["user"]}

    def create(self, validated_data):
        """As the create page (DealCreateView.save): the stage entered now, you as the owner."""
        user = self.context["user"]
        deal = validated_data["form"].save(commit=False)
        deal.stage_entered_at = deal.last_activity_at = timezone.now()
        if deal.owner is None:
            deal.owner = user
        deal.save()
        validated_data["form"].save_m2m()
        services.deal_record_created(deal=deal, user=user)
        return deal

    def update(self, instance, validated_data):
        """As the edit page (DealUpdateView.save): a new stage is a move by the board's rules."""
        user = self.context["user"]
        form = validated_data["form"]
        new_stage = form.cleaned_data.get("stage")
        original = Deal.objects.filter(pk=instance.pk).values("stage_id", "pipeline_id").get()
        deal = form.save(commit=False)
        moving = new_stage is not None and new_stage.pk != original["stage_id"]
        if moving:
            deal.stage_id, deal.pipeline_id = original["stage_id"], original["pipeline_id"]
            if new_stage.pipeline_id != deal.pipeline_id:
                raise serializers.ValidationError({"stage": [
                    _("A deal stays in its pipeline; choose a stage of “%(pipeline)s”.") % {"pipeline": deal.pipeline}]})
        deal.last_activity_at = timezone.now()
        with transaction.atomic():
            deal.save()
            form.save_m2m()
            if moving:
                deal = services.deal_move(deal=deal, stage=new_stage, user=user)
        return deal


class DealMoveSerializer(serializers.Serializer):
    stage = serializers.IntegerField(help_text="A stage of the deal's pipeline (a lost stage needs “Mark as lost”).")
