"""Plugs marketing into the shared machinery of crm/ (navigation, search, timeline, start page, record pages)."""

from django.utils.translation import gettext_lazy as _

from crm import navigation, recordpage, startpage, timeline
from crm import search as crm_search
from crm.navigation import NavItem
from crm.recordpage import Panel
from crm.roles import Role
from crm.startpage import Widget


def _person_panel(request, person):
    """Consent and campaign memberships on a person's page (two queries)."""
    from crm.roles import has_role
    from marketing.models import READ_ROLES, CampaignMember, Consent

    consents = list(Consent.objects.filter(person=person).order_by("purpose", "channel"))
    memberships = []
    if has_role(request.user, *READ_ROLES):
        memberships = list(
            CampaignMember.objects.filter(person=person).select_related("campaign").order_by("-added_at")[:10]
        )
    return {"consents": consents, "memberships": memberships}


def register_all() -> None:
    from crm import history
    from marketing import benchmarks, search, seed  # noqa: F401  (they register themselves on import)
    from marketing.models import READ_ROLES, Campaign, Segment
    from marketing.timeline import marketing_entries

    history.register(Campaign, roles=READ_ROLES)
    history.register(Segment, roles=READ_ROLES)
    register_privacy()
    register_webhooks()
    register_addressbook_segments()

    navigation.register(NavItem(_("Campaigns"), "marketing:campaign_list", order=60, icon="megaphone", roles=READ_ROLES, section="marketing:"))
    for provider in search.PROVIDERS:
        crm_search.register(provider)
    timeline.register(marketing_entries, kind="campaign", label=_("Campaigns"), order=40)
    register_start_page()
    recordpage.register_panel(Panel("marketing.consent", "contacts.person", "marketing/partials/person_panel.html", context=_person_panel, order=50))


def register_start_page() -> None:
    from marketing import startpage as widgets

    marketing = (Role.MARKETING,)
    startpage.register(Widget("marketing.campaigns", "marketing/widgets/campaigns.html", widgets.campaigns, order=11, roles=marketing))
    startpage.register(
        Widget("marketing.consent_growth", "marketing/widgets/consent_growth.html", widgets.consent_growth, order=12, roles=marketing)
    )
    startpage.register(Widget("marketing.form_leads", "marketing/widgets/form_leads.html", widgets.form_leads, order=13, roles=marketing))


def register_addressbook_segments() -> None:
    """The segments a user may see can be pushed to their phone's address book (contacts.addressbooks)."""
    from contacts.addressbooks import scopes
    from marketing.models import Segment

    def choices(user):
        return list(Segment.objects.visible_to(user).order_by("name", "pk").values_list("pk", "name"))

    def people(user, segment_id):
        segment = Segment.objects.visible_to(user).filter(pk=segment_id).first()
        return segment.people() if segment else None

    scopes.register_segments(scopes.SegmentSource(choices=choices, people=people))


def register_privacy() -> None:
    from crm import privacy
    from marketing import privacy as marketing_privacy

    privacy.register(
        privacy.PrivacyProvider(
            "marketing", _("Consents, campaigns and web forms"), export=marketing_privacy.export_person, erase=marketing_privacy.erase_person, order=30,
        )
    )


def register_webhooks() -> None:
    """Consent and campaign webhook payloads show the record as the API does."""
    from crm import webhooks

    def consent(instance):
        from marketing.api.serializers import ConsentSerializer

        return ConsentSerializer(instance, context={"user": None}).data

    def campaign(instance):
        from marketing.api.serializers import CampaignSerializer

        return CampaignSerializer(instance, context={"user": None}).data

    webhooks.register_kind("consent", consent)
    webhooks.register_kind("campaign", campaign)
