"""Django admin for the sales app: admins edit pipelines, stages, products, territories, quotas,
automation rules, exchange rates and the sales settings here."""

from django.contrib import admin
from django.utils.translation import gettext as _
from simple_history.admin import SimpleHistoryAdmin

from crm.admin import AccessControlledAdmin
from crm.money import format_money
from sales.models import (
    AutomationRule,
    AutomationRun,
    Deal,
    DealContact,
    ExchangeRate,
    Lead,
    LineItem,
    Pipeline,
    PriceList,
    PriceListItem,
    Product,
    Quota,
    SalesSettings,
    Stage,
    StageChange,
    Territory,
    TerritoryRule,
)


@admin.register(SalesSettings)
class SalesSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "deals_visible_to_everyone"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not SalesSettings.objects.exists()


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ["name", "order", "probability", "is_won", "is_lost"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "is_active", "stale_after_days"]
    list_editable = ["position", "is_active", "stale_after_days"]
    search_fields = ["name"]
    inlines = [StageInline]


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "pipeline", "order", "probability", "is_won", "is_lost"]
    list_filter = ["pipeline"]
    list_select_related = ["pipeline"]
    search_fields = ["name"]


@admin.register(Product)
class ProductAdmin(SimpleHistoryAdmin):
    list_display = ["name", "sku", "unit_price", "currency", "tax_rate", "is_active"]
    list_filter = ["is_active", "currency"]
    search_fields = ["name", "=sku"]


class PriceListItemInline(admin.TabularInline):
    model = PriceListItem
    extra = 0
    autocomplete_fields = ["product"]


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    list_display = ["name", "currency", "valid_from", "valid_until", "is_active"]
    list_filter = ["is_active", "currency"]
    search_fields = ["name"]
    inlines = [PriceListItemInline]


class TerritoryRuleInline(admin.TabularInline):
    model = TerritoryRule
    extra = 0


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    list_display = ["name", "priority", "manager", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    autocomplete_fields = ["manager"]
    filter_horizontal = ["reps"]
    list_select_related = ["manager"]
    inlines = [TerritoryRuleInline]


@admin.register(Lead)
class LeadAdmin(AccessControlledAdmin, SimpleHistoryAdmin):
    list_display = ["last_name", "first_name", "company", "email", "status", "source", "rating", "owner", "created_at"]
    list_filter = ["status", "source", "rating"]
    search_fields = ["last_name", "=email", "company"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    raw_id_fields = ["converted_person", "converted_organization", "converted_deal", "territory"]
    show_full_result_count = False
    readonly_fields = ["created_at", "updated_at", "converted_at"]


class DealContactInline(admin.TabularInline):
    model = DealContact
    extra = 0
    raw_id_fields = ["person"]


class LineItemInline(admin.TabularInline):
    model = LineItem
    extra = 0
    autocomplete_fields = ["product"]
    readonly_fields = ["total"]


@admin.register(Deal)
class DealAdmin(AccessControlledAdmin, SimpleHistoryAdmin):
    list_display = ["name", "organization", "pipeline", "stage", "status", "amount", "currency", "expected_close_date", "owner"]
    list_filter = ["status", "pipeline", "forecast_category"]
    search_fields = ["name"]
    list_select_related = ["organization", "pipeline", "stage", "owner"]
    autocomplete_fields = ["owner"]
    raw_id_fields = ["organization", "lead", "territory"]
    inlines = [DealContactInline, LineItemInline]
    show_full_result_count = False
    readonly_fields = ["converted_amount", "created_at", "updated_at", "stage_entered_at", "last_activity_at", "closed_at"]

    def save_related(self, request, form, formsets, change):
        """Here too a deal with line items is worth their total (Deal.amount_from_line_items)."""
        super().save_related(request, form, formsets, change)
        changed = form.instance.amount_from_line_items()
        if changed is not None:
            self.message_user(
                request,
                _("The amount is now %(new)s, the total of the line items (it was %(old)s).")
                % {"new": format_money(changed[1], form.instance.currency),
                   "old": format_money(changed[0], form.instance.currency)},
            )


@admin.register(ExchangeRate)
class ExchangeRateAdmin(SimpleHistoryAdmin):
    """Rates into the company currency; totals over deals convert with them (sales.money)."""

    list_display = ["currency", "valid_from", "rate"]
    list_filter = ["currency"]
    date_hierarchy = "valid_from"
    ordering = ["currency", "-valid_from"]


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ["deal", "from_stage", "to_stage", "changed_at", "left_at", "changed_by"]
    list_select_related = ["deal", "from_stage", "to_stage", "changed_by"]
    raw_id_fields = ["deal"]
    show_full_result_count = False


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    list_display = ["user", "period", "period_start", "amount"]
    list_filter = ["period"]
    autocomplete_fields = ["user"]
    list_select_related = ["user"]
    date_hierarchy = "period_start"


@admin.register(AutomationRule)
class AutomationRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "trigger", "stage", "lead_status", "action", "is_active"]
    list_filter = ["trigger", "action", "is_active"]
    list_select_related = ["stage"]
    search_fields = ["name"]


@admin.register(AutomationRun)
class AutomationRunAdmin(admin.ModelAdmin):
    list_display = ["rule", "event_key", "status", "started_at", "finished_at"]
    list_filter = ["status", "rule"]
    list_select_related = ["rule"]
    raw_id_fields = ["deal", "lead"]
    readonly_fields = ["rule", "event_key", "deal", "lead", "status", "message", "started_at", "finished_at"]
    show_full_result_count = False
