"""What sales stores about a contacts person, for the data-protection export and erasure (crm.privacy).

- Leads converted to the person or carrying one of the person's email addresses: exported in full;
  on erasure anonymised (name, contact data, company, address, notes, UTM emptied) but kept with
  status and source, so that lead statistics stay right. Their change history is deleted.
- Deal roles (DealContact): exported; on erasure deleted with their history. The deals stay
  (business records of the organization); their free text (name, next step, won/lost note,
  competitor) loses every mention of the person's name, email or phone, in the history too.
Activities about deals are the contacts provider's.
"""

from django.db.models import Q
from django.utils.translation import gettext as _

from crm.privacy import emails, identifiers, plain, scrub
from crm.text import index_text
from sales.models import Deal, DealContact, Lead

LEAD_FIELDS = [
    "first_name", "last_name", "email", "phone", "company", "position", "country", "postal_code", "city",
    "industry", "source", "campaign_code", "utm", "status", "rating", "note", "created_at", "converted_at",
]
DEAL_TEXT_FIELDS = ["name", "next_step", "close_note", "competitor"]


def _leads(person):
    condition = Q(converted_person=person)
    addresses = emails(person)
    if addresses:
        condition |= Q(email__in=addresses)
    return Lead.objects.filter(condition).order_by("created_at", "pk")


def export_person(person) -> list[dict]:
    data = [
        {"type": "lead", **{field: plain(getattr(lead, field)) for field in LEAD_FIELDS}}
        for lead in _leads(person)
    ]
    data += [
        {"type": "deal_role", "deal": link.deal.name, "role": link.role, "deal_status": link.deal.status}
        for link in DealContact.objects.filter(person=person).select_related("deal").order_by("pk")
    ]
    return data


def erase_person(person) -> int:
    needles = identifiers(person)
    lead_ids = list(_leads(person).values_list("pk", flat=True))
    touched = Lead.objects.filter(pk__in=lead_ids).update(
        first_name="", last_name=_("Erased person"), email="", phone="", company="", position="",
        postal_code="", city="", note="", utm={}, search_key=index_text(_("Erased person")),
    )
    links = DealContact.objects.filter(person=person)
    deal_ids = set(links.values_list("deal_id", flat=True)) | set(
        Deal.objects.filter(lead_id__in=lead_ids).values_list("pk", flat=True)
    )
    link_ids = list(links.values_list("pk", flat=True))
    touched += links.delete()[0]
    for deal in Deal.objects.filter(pk__in=deal_ids):
        changed = {f: scrub(getattr(deal, f), needles) for f in DEAL_TEXT_FIELDS}
        if any(changed[f] != getattr(deal, f) for f in DEAL_TEXT_FIELDS):
            for field, value in changed.items():
                setattr(deal, field, value)
            deal.refresh_search_key()
            Deal.objects.filter(pk=deal.pk).update(search_key=deal.search_key, **changed)
            touched += 1
    for row in Deal.history.filter(id__in=deal_ids):
        changed = {f: scrub(getattr(row, f), needles) for f in DEAL_TEXT_FIELDS}
        if any(changed[f] != getattr(row, f) for f in DEAL_TEXT_FIELDS):
            Deal.history.filter(history_id=row.history_id).update(**changed)
    # Last: deleting records writes history rows with their old values.
    Lead.history.filter(id__in=lead_ids).delete()
    DealContact.history.filter(Q(id__in=link_ids) | Q(person_id=person.pk)).delete()
    return touched
