"""The marketing app's pages for the page-frame walk and the access matrix (crm/tests/catalogue.py)."""

from crm.roles import SERVICE_ROLES, Role
from marketing import services, tokens
from marketing.models import Delivery
from marketing.tests.factories import (
    CampaignFactory,
    CampaignMemberFactory,
    ConsentFactory,
    EmailTemplateFactory,
    SegmentFactory,
    WebFormFactory,
)

EDIT_PAGES = {
    "marketing:campaign_create", "marketing:campaign_update", "marketing:campaign_export",
    "marketing:segment_create", "marketing:segment_update",
    "marketing:template_create", "marketing:template_update",
    "marketing:webform_create", "marketing:webform_update",
}
RECORD_PAGES = {
    "marketing:campaign_detail", "marketing:campaign_update", "marketing:campaign_history",
    "marketing:campaign_progress", "marketing:campaign_calls", "marketing:campaign_export",
    "marketing:segment_detail", "marketing:segment_update", "marketing:segment_history",
    "marketing:template_detail", "marketing:template_update", "marketing:template_preview",
    "marketing:webform_detail", "marketing:webform_update",
}
# The HTML part of an email, shown in a frame on the template page: a document without the CRM's frame.
EMBEDDED_PAGES = {"marketing:template_preview"}
POST_ONLY_PAGES = {
    "marketing:campaign_send", "marketing:campaign_members_refresh", "marketing:campaign_call_log",
    "marketing:template_test_send",
    "api:campaign-send", "api:consent-unsubscribe",
}
# The API (JSON), as the pages: the roles of the campaign pages read campaigns and segments (service
# roles: 403 on the lists, 404 on a record and its actions); everybody reads the consents of the
# people they see, as the person page's marketing panel shows them.
API_LIST_PAGES = {"api:campaign-list", "api:segment-list"}
API_RECORD_PAGES = {"api:campaign-detail", "api:campaign-results", "api:segment-detail", "api:segment-members"}
CUSTOMER_PAGES = {
    "marketing:form_public", "marketing:consent_confirm", "marketing:unsubscribe", "marketing:preferences",
    "marketing:track_open", "marketing:track_click",
}
PUBLIC_PAGES = set(CUSTOMER_PAGES)


def records(base: dict) -> dict:
    admin_user = base["user"]
    person = base["person"]
    template = EmailTemplateFactory(name="Frühjahrs-Newsletter", created_by=admin_user)
    segment = SegmentFactory(name="Kunden München", definition={"postal_code_prefix": "8"}, owner=admin_user)
    campaign = CampaignFactory(name="Frühjahrsaktion", code="fruehjahr", owner=admin_user, template=template)
    campaign.segments.add(segment)
    phone_campaign = CampaignFactory(name="Messe-Anrufe", code="messe-anrufe", channel="phone", template=None, owner=admin_user)
    member = CampaignMemberFactory(campaign=phone_campaign, person=person)
    consent = ConsentFactory(person=person, status="pending")
    web_form = WebFormFactory(name="Kontaktformular", campaign=campaign, owner=admin_user)
    sent = CampaignFactory(name="Herbstaktion", code="herbst", owner=admin_user, template=template, status="sending", links=["https://www.example.de/angebot"])
    delivery = Delivery.objects.create(campaign=sent, person=person, email=person.email, status=Delivery.Status.SENT)
    services.campaign_results([campaign])
    return {
        "campaign": campaign, "phone_campaign": phone_campaign, "member": member, "segment": segment,
        "template": template, "web_form": web_form, "consent": consent, "delivery": delivery,
    }


def url_kwargs(records) -> dict[str, dict]:
    campaign, segment, template, web_form = records["campaign"], records["segment"], records["template"], records["web_form"]
    person, delivery = records["person"], records["delivery"]
    return {
        "marketing:campaign_detail": {"pk": campaign.pk},
        "marketing:campaign_update": {"pk": campaign.pk},
        "marketing:campaign_history": {"pk": campaign.pk},
        "marketing:campaign_send": {"pk": campaign.pk},
        "marketing:campaign_progress": {"pk": campaign.pk},
        "marketing:campaign_members_refresh": {"pk": campaign.pk},
        "marketing:campaign_calls": {"pk": records["phone_campaign"].pk},
        "marketing:campaign_export": {"pk": campaign.pk},
        "marketing:campaign_call_log": {"pk": records["member"].pk},
        "marketing:segment_detail": {"pk": segment.pk},
        "marketing:segment_update": {"pk": segment.pk},
        "marketing:segment_history": {"pk": segment.pk},
        "marketing:template_detail": {"pk": template.pk},
        "marketing:template_update": {"pk": template.pk},
        "marketing:template_test_send": {"pk": template.pk},
        "marketing:template_preview": {"pk": template.pk},
        "marketing:webform_detail": {"pk": web_form.pk},
        "marketing:webform_update": {"pk": web_form.pk},
        "marketing:form_public": {"key": web_form.key},
        "marketing:consent_confirm": {"token": tokens.confirm_token(records["consent"].pk)},
        "marketing:unsubscribe": {"token": tokens.recipient_token(person.pk, campaign.pk)},
        "marketing:preferences": {"token": tokens.recipient_token(person.pk, campaign.pk)},
        "marketing:track_open": {"token": tokens.open_token(delivery.pk)},
        "marketing:track_click": {"token": tokens.click_token(delivery.pk, 0)},
        "api:campaign-detail": {"pk": campaign.pk},
        "api:campaign-send": {"pk": campaign.pk},
        "api:campaign-results": {"pk": campaign.pk},
        "api:segment-detail": {"pk": segment.pk},
        "api:segment-members": {"pk": segment.pk},
        "api:consent-detail": {"pk": records["consent"].pk},
    }


def url_queries(records) -> dict[str, str]:
    return {"marketing:segment_preview": "f-postal_code_prefix=8&f-email_consent=on"}


# Roles that see no marketing record at all (service, and the membership register's keepers).
NO_MARKETING_ROLES = (*SERVICE_ROLES, Role.MEMBERSHIP_MANAGER)


def expected(name: str, role: str) -> set[int] | None:
    if name in API_LIST_PAGES | API_RECORD_PAGES and role in NO_MARKETING_ROLES:
        return {404} if name in API_RECORD_PAGES else {403}
    if not name.startswith("marketing:") or name in CUSTOMER_PAGES or name in POST_ONLY_PAGES:
        return None
    if role == Role.ADMIN or role == Role.MARKETING:
        return None
    if role in NO_MARKETING_ROLES:
        # Service sees no marketing record: 404 on each record's pages, 403 on the others.
        return {404} if name in RECORD_PAGES else {403}
    if name in EDIT_PAGES:
        return {403}
    return None
