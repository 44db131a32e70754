"""Plugs sales into the shared machinery of crm/ (navigation, search, timeline, start page, record pages)."""

from django.utils.translation import gettext_lazy as _

from crm import navigation, recordpage, startpage, timeline
from crm import search as crm_search
from crm.navigation import NavItem
from crm.roles import Role
from crm.startpage import Widget

SALES_ROLES = (Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP)


def register_all() -> None:
    from crm import history
    from sales import benchmarks, imports, search, seed, signals  # noqa: F401  (they register themselves on import)
    from sales import recordpage as pages
    from sales import startpage as widgets
    from sales.models import Deal, Lead
    from sales.timeline import stage_change_entries

    history.register(Deal)
    history.register(Lead)
    register_privacy()
    imports.register()
    register_change_feed()
    register_webhooks()
    register_settings()

    navigation.register(NavItem(_("Leads"), "sales:lead_list", order=40, icon="person-plus", section="sales:lead_", roles=SALES_ROLES))
    navigation.register(NavItem(_("Deals"), "sales:deal_list", order=45, icon="briefcase", section="sales:deal_", roles=SALES_ROLES))
    navigation.register(NavItem(_("Board"), "sales:board", order=46, icon="kanban", section="sales:board", roles=SALES_ROLES))
    navigation.register(NavItem(_("Forecast"), "sales:forecast", order=47, icon="graph-up", section="sales:forecast", roles=SALES_ROLES))
    for provider in search.PROVIDERS:
        crm_search.register(provider)
    timeline.register(stage_change_entries, kind="deal", label=_("Deals"), order=20)
    startpage.register(Widget("sales.stale_deals", "sales/widgets/stale_deals.html", widgets.my_stale_deals, order=12, roles=SALES_ROLES))
    startpage.register(Widget("sales.new_leads", "sales/widgets/new_leads.html", widgets.my_new_leads, order=13, roles=SALES_ROLES))
    startpage.register(
        Widget("sales.team_pipeline", "sales/widgets/team_pipeline.html", widgets.team_pipeline, order=16, roles=(Role.SALES_MANAGER,))
    )
    startpage.register(
        Widget("sales.team_forecast", "sales/widgets/team_forecast.html", widgets.team_forecast, order=17, roles=(Role.SALES_MANAGER,))
    )
    for model in ("contacts.person", "contacts.organization"):
        recordpage.register_action(
            recordpage.Action(f"sales.new_deal.{model}", model, _("New deal"), url=pages.new_deal_url, icon="briefcase", order=20)
        )
        recordpage.register_panel(
            recordpage.Panel(f"sales.deals.{model}", model, "sales/partials/record_deals.html", context=pages.deals_panel, order=20)
        )


def register_privacy() -> None:
    from crm import privacy
    from sales import privacy as sales_privacy

    privacy.register(
        privacy.PrivacyProvider(
            "sales", _("Leads and deal roles"), export=sales_privacy.export_person, erase=sales_privacy.erase_person, order=20,
        )
    )


def register_change_feed() -> None:
    """Leads and deals in the change feed. Their webhooks come from the services, named for what
    happened (lead.converted, deal.won), so the feed emits none for them."""
    from crm import changefeed
    from sales.models import Deal, Lead

    changefeed.register("lead", Lead, webhooks=False)
    changefeed.register("deal", Deal, webhooks=False)


def register_webhooks() -> None:
    """Webhook payloads show a lead or a deal as the API does."""
    from crm import webhooks

    def lead(instance):
        from sales.api.serializers import LeadSerializer

        return LeadSerializer(instance, context={"user": None}).data

    def deal(instance):
        from sales.api.serializers import DealSerializer

        return DealSerializer(instance, context={"user": None}).data

    webhooks.register_kind("lead", lead)
    webhooks.register_kind("deal", deal)


def register_settings() -> None:
    """The settings hub's sales entries (the pages check the same roles)."""
    from crm import settingspages
    from crm.settingspages import SettingsEntry

    setup = (Role.ADMIN, Role.SALES_MANAGER)
    area = _("Sales")
    settingspages.register(SettingsEntry(
        "sales.pipelines", area, _("Pipelines and stages"),
        _("The steps a deal goes through, their order, default probabilities and when a deal counts as stale."),
        "sales:pipeline_list", roles=setup, order=100, icon="kanban",
    ))
    settingspages.register(SettingsEntry(
        "sales.territories", area, _("Territories"),
        _("Sales areas with their assignment rules and reps; managers set up their own team's."),
        "sales:territory_list", roles=setup, order=110, icon="geo-alt",
    ))
    settingspages.register(SettingsEntry(
        "sales.quotas", area, _("Quotas"),
        _("Targets per rep and month or quarter, entered in one grid."),
        "sales:quota_grid", roles=setup, order=120, icon="bullseye",
    ))
