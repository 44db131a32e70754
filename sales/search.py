"""What the global search finds in sales: deals and leads (only those the user may see)."""

from django.utils.translation import gettext_lazy as _

from crm.money import format_money
from crm.search import SearchProvider
from sales.models import Deal, Lead


def _describe_deal(deal: Deal) -> tuple[str, str]:
    # No join to the organization: crm.search's raw SQL names search_key, which both tables have.
    return deal.name, " · ".join(p for p in [deal.get_status_display(), format_money(deal.amount, deal.currency, whole=True)] if p)


def _describe_lead(lead: Lead) -> tuple[str, str]:
    return lead.full_name, " · ".join(p for p in [lead.company, lead.email, lead.get_status_display()] if p)


PROVIDERS = [
    SearchProvider(
        kind="deal", label=_("Deals"), model=Deal, describe=_describe_deal, icon="briefcase", order=30,
        only=("id", "name", "status", "amount", "currency", "search_key"),
    ),
    SearchProvider(
        kind="lead", label=_("Leads"), model=Lead, describe=_describe_lead, icon="person-plus", order=35,
        only=("id", "first_name", "last_name", "company", "email", "status", "search_key"),
    ),
]
