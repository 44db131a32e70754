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

from crm import changefeed, customfields, privacy
from crm.privacy import classify, emails, identifiers, plain, scrub
from crm.text import index_text
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

classify(
    Lead,
    personal="first_name last_name email phone company position postal_code city note utm custom_fields",
    derived="search_key",
    not_personal="country industry source campaign_code status disqualify_reason rating owner territory "
                 "converted_person converted_organization converted_deal converted_at created_at updated_at",
)
classify(
    Deal,
    mentions="name next_step close_note competitor",
    # The person's deals lose the values of custom fields marked as personal data on erasure.
    personal="custom_fields",
    derived="search_key",
    not_personal="pipeline stage organization owner territory amount currency converted_amount expected_close_date "
                 "probability probability_overridden forecast_category source campaign_code status lost_reason closed_at "
                 "stage_entered_at last_activity_at lead created_at updated_at contacts external_source external_id",
)
classify(DealContact, personal="role", not_personal="deal person")
classify(SalesSettings, not_personal="deals_visible_to_everyone")
classify(ExchangeRate, not_personal="currency rate valid_from")
classify(Pipeline, not_personal="name position is_active stale_after_days")
classify(Stage, not_personal="pipeline name order probability is_won is_lost")
classify(Product, not_personal="search_key name sku description unit_price currency tax_rate is_active "
                               "external_source external_id")
classify(PriceList, not_personal="name currency valid_from valid_until is_active")
classify(PriceListItem, not_personal="price_list product unit_price")
classify(Territory, not_personal="name priority manager last_assigned is_active reps")
classify(TerritoryRule, not_personal="territory country postal_code_from postal_code_to industry")
classify(LineItem, not_personal="deal product description quantity unit_price discount_percent total position")
classify(StageChange, not_personal="deal from_stage to_stage changed_at left_at changed_by")
classify(Quota, not_personal="user period period_start amount")
classify(AutomationRule, not_personal="name is_active trigger stage lead_status action task_subject task_due_days "
                                      "field_name field_value created_at")
classify(AutomationRun, not_personal="rule event_key deal lead status message started_at finished_at")

LEAD_FIELDS = [
    *(f for f in privacy.personal_fields(Lead) if f != "custom_fields"),
    "country", "industry", "source", "campaign_code", "status", "rating", "created_at", "converted_at",
]
DEAL_TEXT_FIELDS = list(privacy.classification(Deal).mentions)


def _leads(person):
    condition = Q(converted_person=person)
    addresses = emails(person)
    if addresses:
        condition |= Q(email__in=addresses)
    return Lead.objects.filter(condition).order_by("created_at", "pk")


def export_person(person) -> list[dict]:
    data = [
        {"type": "lead", **{field: plain(getattr(lead, field)) for field in LEAD_FIELDS},
         "custom_fields": customfields.personal_export(Lead, lead.custom_fields)}
        for lead in _leads(person)
    ]
    data += [
        {"type": "deal_role", "deal": link.deal.name, "role": link.role, "deal_status": link.deal.status,
         "custom_fields": customfields.personal_export(Deal, link.deal.custom_fields, personal_only=True)}
        for link in DealContact.objects.filter(person=person).select_related("deal").order_by("pk")
    ]
    return data


def erase_person(person) -> int:
    needles = identifiers(person)
    lead_ids = list(_leads(person).values_list("pk", flat=True))
    customfields.erase_personal(Lead.objects.filter(pk__in=lead_ids))
    touched = Lead.objects.filter(pk__in=lead_ids).update(
        **privacy.emptied(Lead, [f for f in privacy.personal_fields(Lead) if f not in ("last_name", "custom_fields")]),
        last_name=_("Erased person"), search_key=index_text(_("Erased person")),
    )
    changefeed.record_updated_ids(Lead, lead_ids)  # a mirror reads them again, emptied
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
            changefeed.record_updated_ids(Deal, [deal.pk])
            touched += 1
    touched += customfields.erase_personal(Deal.objects.filter(pk__in=deal_ids))
    customfields.erase_personal(Deal.history.filter(id__in=deal_ids), Deal)
    for row in Deal.history.filter(id__in=deal_ids):
        changed = {f: scrub(getattr(row, f), needles) for f in DEAL_TEXT_FIELDS}
        if any(changed[f] != getattr(row, f) for f in DEAL_TEXT_FIELDS):
            Deal.history.filter(history_id=row.history_id).update(**changed)
    # Last: deleting records writes history rows with their old values.
    Lead.history.filter(id__in=lead_ids).delete()
    DealContact.history.filter(Q(id__in=link_ids) | Q(person_id=person.pk)).delete()
    return touched
