"""The sales app's pages for the page-frame walk and the access matrix (crm/tests/catalogue.py)."""

from decimal import Decimal

from crm.roles import IMPORT_ROLES, Role
from sales.models import DealContact
from sales.tests.factories import DealFactory, LeadFactory, LineItemFactory, TerritoryRuleFactory

SALES_WRITERS = {Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP}
# Pages about one record (owned by the admin, outside everybody's team): hidden from the others.
RECORD_PAGES = {
    "sales:deal_detail", "sales:deal_history", "sales:lead_detail", "sales:lead_history",
}
RECORD_EDIT_PAGES = {"sales:deal_update", "sales:lead_update", "sales:lead_convert"}
WRITER_PAGES = {"sales:deal_create", "sales:lead_create", "sales:forecast", "sales:territory_list"}
POST_ONLY_PAGES = {
    "sales:deal_mark_won", "sales:deal_mark_lost", "sales:deal_reopen", "sales:deal_move", "sales:deal_contact_add",
    "sales:deal_contact_remove", "sales:deal_task_add", "sales:lead_task_add", "sales:reassign",
}


def records(base: dict) -> dict:
    admin_user = base["user"]
    deal = DealFactory(
        name="Rahmenvertrag Müller 2027", owner=admin_user, organization=base["organization"], amount=Decimal("48000")
    )
    LineItemFactory(deal=deal)
    contact = DealContact.objects.create(deal=deal, person=base["person"], role=DealContact.Role.DECISION_MAKER)
    lead = LeadFactory(first_name="Petra", last_name="Lindner", company="Lindner Logistik GmbH", owner=admin_user)
    TerritoryRuleFactory(country="DE", postal_code_from="10000", postal_code_to="19999")
    return {"deal": deal, "deal_contact": contact, "lead": lead}


def url_kwargs(records) -> dict[str, dict]:
    deal, lead = records["deal"], records["lead"]
    kwargs = {name: {"pk": deal.pk} for name in [
        "sales:deal_detail", "sales:deal_update", "sales:deal_history", "sales:deal_mark_won", "sales:deal_mark_lost",
        "sales:deal_reopen", "sales:deal_move", "sales:deal_contact_add", "sales:deal_task_add",
    ]}
    kwargs |= {name: {"pk": lead.pk} for name in [
        "sales:lead_detail", "sales:lead_update", "sales:lead_history", "sales:lead_convert", "sales:lead_task_add",
    ]}
    kwargs["sales:deal_contact_remove"] = {"pk": deal.pk, "contact_pk": records["deal_contact"].pk}
    return kwargs


def expected(name: str, role: str) -> set[int] | None:
    if not name.startswith("sales:") or role == Role.ADMIN:
        return None
    if name in RECORD_PAGES | RECORD_EDIT_PAGES:
        return {404}  # hidden from every other role: 404 on all its pages, edit included
    if name in WRITER_PAGES:
        return {200} if role in SALES_WRITERS else {403}
    if name == "sales:lead_import":
        return {200} if role in SALES_WRITERS and role in IMPORT_ROLES else {403}
    return None

