"""The sales app's pages for the page-frame walk and the access matrix (crm/tests/catalogue.py)."""

from decimal import Decimal

from crm.roles import IMPORT_ROLES, Role
from sales.models import DealContact, PriceList, PriceListItem
from sales.tests.factories import DealFactory, LeadFactory, LineItemFactory, TerritoryRuleFactory

SALES_WRITERS = {Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP}
# Pages about one record (owned by the admin, outside everybody's team): hidden from the others.
RECORD_PAGES = {
    "sales:deal_detail", "sales:deal_history", "sales:lead_detail", "sales:lead_history",
}
RECORD_EDIT_PAGES = {"sales:deal_update", "sales:lead_update", "sales:lead_convert"}
WRITER_PAGES = {"sales:deal_create", "sales:lead_create", "sales:forecast", "sales:territory_list"}
# Settings pages: sales managers and admins. The walk's territory is managed by nobody's manager,
# so a sales manager may not change it (403).
SETUP_PAGES = {
    "sales:pipeline_list", "sales:pipeline_create", "sales:pipeline_update", "sales:pipeline_delete",
    "sales:stage_update", "sales:stage_delete", "sales:quota_grid", "sales:territory_create",
}
OTHER_TEAMS_PAGES = {"sales:territory_update", "sales:territory_delete"}
# The API (JSON): the admin's lead and deal are hidden from the others (404, actions included);
# pipelines, stages, products and price lists are read by every CRM role.
API_RECORD_PAGES = {"api:lead-detail", "api:deal-detail"}
POST_ONLY_PAGES = {
    "api:lead-convert", "api:deal-move", "api:deal-batch", "api:product-batch",
    "sales:deal_mark_won", "sales:deal_mark_lost", "sales:deal_reopen", "sales:deal_next_stage", "sales:deal_move", "sales:deal_contact_add",
    "sales:deal_contact_remove", "sales:deal_task_add", "sales:lead_task_add", "sales:reassign",
    "sales:stage_create", "sales:stage_reorder", "sales:stage_move",
}


def records(base: dict) -> dict:
    admin_user = base["user"]
    deal = DealFactory(
        name="Rahmenvertrag Müller 2027", owner=admin_user, organization=base["organization"], amount=Decimal("48000")
    )
    line_item = LineItemFactory(deal=deal)
    contact = DealContact.objects.create(deal=deal, person=base["person"], role=DealContact.Role.DECISION_MAKER)
    lead = LeadFactory(first_name="Petra", last_name="Lindner", company="Lindner Logistik GmbH", owner=admin_user)
    rule = TerritoryRuleFactory(country="DE", postal_code_from="10000", postal_code_to="19999")
    price_list = PriceList.objects.create(name="Händler 2027", currency="EUR")
    price = PriceListItem.objects.create(price_list=price_list, product=line_item.product, unit_price=Decimal("90.00"))
    return {"deal": deal, "deal_contact": contact, "lead": lead, "product": line_item.product, "price_list": price_list,
            "price_list_item": price, "territory": rule.territory}


def url_kwargs(records) -> dict[str, dict]:
    deal, lead = records["deal"], records["lead"]
    kwargs = {name: {"pk": deal.pk} for name in [
        "sales:deal_detail", "sales:deal_update", "sales:deal_history", "sales:deal_mark_won", "sales:deal_mark_lost",
        "sales:deal_reopen", "sales:deal_next_stage", "sales:deal_move", "sales:deal_contact_add", "sales:deal_task_add",
    ]}
    kwargs |= {name: {"pk": lead.pk} for name in [
        "sales:lead_detail", "sales:lead_update", "sales:lead_history", "sales:lead_convert", "sales:lead_task_add",
    ]}
    kwargs |= {"api:lead-detail": {"pk": lead.pk}, "api:lead-convert": {"pk": lead.pk},
               "api:deal-detail": {"pk": deal.pk}, "api:deal-move": {"pk": deal.pk},
               "api:pipeline-detail": {"pk": deal.pipeline_id}, "api:stage-detail": {"pk": deal.stage_id},
               "api:product-detail": {"pk": records["product"].pk},
               "api:pricelist-detail": {"pk": records["price_list"].pk},
               "api:pricelistitem-detail": {"pk": records["price_list_item"].pk}}
    kwargs |= {name: {"pk": deal.pipeline_id} for name in [
        "sales:pipeline_update", "sales:pipeline_delete", "sales:stage_create", "sales:stage_reorder",
    ]}
    kwargs |= {name: {"pk": deal.stage_id} for name in ["sales:stage_update", "sales:stage_delete", "sales:stage_move"]}
    kwargs |= {name: {"pk": records["territory"].pk} for name in ["sales:territory_update", "sales:territory_delete"]}
    kwargs["sales:deal_contact_remove"] = {"pk": deal.pk, "contact_pk": records["deal_contact"].pk}
    return kwargs


def url_queries(records) -> dict[str, str]:
    return {"sales:deal_autocomplete": "q=rahmenvertrag"}


def expected(name: str, role: str) -> set[int] | None:
    if role == Role.ADMIN:
        return None
    if name in API_RECORD_PAGES:
        return {404}
    if not name.startswith("sales:"):
        return None
    if name in RECORD_PAGES | RECORD_EDIT_PAGES:
        return {404}  # hidden from every other role: 404 on all its pages, edit included
    if name in SETUP_PAGES:
        return {200} if role == Role.SALES_MANAGER else {403}
    if name in OTHER_TEAMS_PAGES:
        return {403}
    if name in WRITER_PAGES:
        return {200} if role in SALES_WRITERS else {403}
    if name == "sales:lead_import":
        return {302} if role in SALES_WRITERS and role in IMPORT_ROLES else {403}  # to the contacts import
    return None

