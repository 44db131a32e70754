"""Segment definitions: a small JSON filter over people, evaluated into a queryset when used.

A definition holds only the keys below; unknown keys and bad values are ignored, so an old
saved segment never breaks a page.

`organization_ids` is not a filter anyone types: it is set when a segment is made from a list
elsewhere in the CRM (the customers dashboard: top customers, RFM segments, churn risk, win-back),
and selects the people working at exactly those organizations. The segment form does not show it
and keeps it when the other filters are edited (`FIXED_KEYS`).
"""

from datetime import date, timedelta

from django.db.models import DecimalField, Exists, OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Activity, Employment, Organization, Person

KEYS = (
    "lifecycle_stages", "tags", "country", "postal_code_prefix", "industries", "inactive_days",
    "active_days", "email_consent", "postal_consent", "customer_since_before", "customer_since_after",
    "open_deal_value_min", "won_revenue_min", "organization_ids",
)
# Keys set by the code that made a segment, not by the segment form; saving the form keeps them.
FIXED_KEYS = ("organization_ids",)
# At most this many organizations in one `organization_ids` condition (it is stored in the definition).
MAX_ORGANIZATION_IDS = 10_000

PRESETS = {
    "win_back": {
        "label": _("Win-back: former customers"),
        "definition": {"lifecycle_stages": [Person.Lifecycle.FORMER_CUSTOMER], "email_consent": True},
    },
    "loyalty": {
        "label": _("Loyalty: top customers by revenue"),
        "definition": {"lifecycle_stages": [Person.Lifecycle.CUSTOMER], "won_revenue_min": 50_000, "email_consent": True},
    },
}


def _date(value) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 <= number <= 1_000_000_000 else None


def _ids(values) -> list[int]:
    if not isinstance(values, (list, tuple)):
        return []
    return [number for value in values[:MAX_ORGANIZATION_IDS] if (number := _int(value)) is not None]


def _organization_deal_total(person_ids_field: str, deals, minimum: int) -> Exists:
    """People working at an organization whose deals (of `deals`) add up to at least `minimum` in
    the company currency (each deal converted as sales.money does; one without a rate adds nothing)."""
    from sales import money

    totals = (
        deals.filter(organization=OuterRef("organization_id")).order_by().values("organization")
        .annotate(total=Sum(money.converted())).values("total")
    )
    return Exists(
        Employment.objects.filter(person=OuterRef(person_ids_field))
        .annotate(total=Subquery(totals, output_field=DecimalField()))
        .filter(total__gte=minimum)
    )


def consent_condition(channel: str, purpose: str = "newsletter") -> Exists:
    from marketing.models import Consent

    return Exists(
        Consent.objects.filter(
            person=OuterRef("pk"), purpose=purpose, channel=channel, status=Consent.Status.GRANTED
        )
    )


def people_matching(definition: dict):
    """The people a definition describes (a lazy queryset, no duplicates)."""
    definition = definition or {}
    qs = Person.objects.all()
    stages = [s for s in definition.get("lifecycle_stages") or [] if s in Person.Lifecycle.values]
    if stages:
        qs = qs.filter(lifecycle_stage__in=stages)
    tags = [t for t in definition.get("tags") or [] if str(t).isdigit()]
    if tags:
        qs = qs.filter(Exists(Person.tags.through.objects.filter(person=OuterRef("pk"), tag_id__in=tags)))
    if country := str(definition.get("country") or "")[:2]:
        qs = qs.filter(country=country)
    if prefix := str(definition.get("postal_code_prefix") or "").strip()[:12]:
        qs = qs.filter(postal_code__startswith=prefix)
    industries = [i for i in definition.get("industries") or [] if i in Organization.Industry.values]
    if industries:
        qs = qs.filter(
            Exists(Employment.objects.filter(person=OuterRef("pk"), organization__industry__in=industries))
        )
    if "organization_ids" in definition:  # an empty list selects nobody, like the empty list it came from
        organization_ids = _ids(definition["organization_ids"])
        qs = qs.filter(Exists(Employment.objects.filter(person=OuterRef("pk"), organization_id__in=organization_ids)))
    now = timezone.now()
    if (days := _int(definition.get("inactive_days"))) is not None:
        recent = Activity.objects.filter(person=OuterRef("pk"), occurred_at__gte=now - timedelta(days=days))
        qs = qs.filter(~Exists(recent))
    if (days := _int(definition.get("active_days"))) is not None:
        recent = Activity.objects.filter(person=OuterRef("pk"), occurred_at__gte=now - timedelta(days=days))
        qs = qs.filter(Exists(recent))
    if definition.get("email_consent"):
        qs = qs.filter(consent_condition("email"))
    if definition.get("postal_consent"):
        qs = qs.filter(consent_condition("mail"))
    if (minimum := _int(definition.get("open_deal_value_min"))) is not None:
        from sales.models import Deal

        qs = qs.filter(_organization_deal_total("pk", Deal.objects.open(), minimum))
    if (minimum := _int(definition.get("won_revenue_min"))) is not None:
        from sales.models import Deal

        qs = qs.filter(_organization_deal_total("pk", Deal.objects.won(), minimum))
    if before := _date(definition.get("customer_since_before")):
        qs = qs.filter(created_at__date__lte=before)
    if after := _date(definition.get("customer_since_after")):
        qs = qs.filter(created_at__date__gte=after)
    return qs


def describe(definition: dict) -> list[str]:
    """Short human-readable parts of a definition, for the segment page."""
    parts = []
    labels = dict(Person.Lifecycle.choices)
    if stages := definition.get("lifecycle_stages"):
        parts.append(f"{_('Lifecycle stage')}: " + ", ".join(str(labels.get(s, s)) for s in stages))
    if definition.get("country"):
        parts.append(f"{_('Country')}: {definition['country']}")
    if definition.get("postal_code_prefix"):
        parts.append(f"{_('Postal code starts with')}: {definition['postal_code_prefix']}")
    if industries := definition.get("industries"):
        names = dict(Organization.Industry.choices)
        parts.append(f"{_('Industry')}: " + ", ".join(str(names.get(i, i)) for i in industries))
    if definition.get("inactive_days") not in (None, ""):
        parts.append(str(_("No activity in the last %(days)s days") % {"days": definition["inactive_days"]}))
    if definition.get("active_days") not in (None, ""):
        parts.append(str(_("Activity in the last %(days)s days") % {"days": definition["active_days"]}))
    if definition.get("email_consent"):
        parts.append(str(_("Email consent granted")))
    if definition.get("postal_consent"):
        parts.append(str(_("Postal consent granted")))
    if definition.get("customer_since_before"):
        parts.append(f"{_('In the CRM since before')}: {definition['customer_since_before']}")
    if definition.get("customer_since_after"):
        parts.append(f"{_('In the CRM since after')}: {definition['customer_since_after']}")
    if definition.get("open_deal_value_min") not in (None, ""):
        parts.append(f"{_('Open deal value of the organization at least')}: {definition['open_deal_value_min']} €")
    if definition.get("won_revenue_min") not in (None, ""):
        parts.append(f"{_('Won revenue of the organization at least')}: {definition['won_revenue_min']} €")
    if definition.get("tags"):
        parts.append(f"{_('Tags')}: {len(definition['tags'])}")
    if "organization_ids" in definition:
        count = len(_ids(definition["organization_ids"]))
        parts.append(str(_("Works at one of the chosen organizations (%(count)s)") % {"count": count}))
    return parts

