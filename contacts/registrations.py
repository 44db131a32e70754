"""Plugs contacts into the shared machinery of crm/ (navigation, search, timeline, start page)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm import navigation, privacy, recordpage, startpage, timeline
from crm import search as crm_search
from crm.navigation import NavItem
from crm.roles import MANAGER_ROLES, PRIVACY_ROLES, has_role
from crm.startpage import Widget


def register_all() -> None:
    from contacts import benchmarks, search, seed  # noqa: F401  (they register themselves on import)
    from contacts import startpage as widgets
    from contacts.timeline import activity_entries

    navigation.register(NavItem(_("Organizations"), "contacts:organization_list", order=10, icon="building", section="contacts:organization_"))
    navigation.register(NavItem(_("People"), "contacts:person_list", order=20, icon="person", section="contacts:person_"))
    navigation.register(NavItem(_("Tasks"), "contacts:task_list", order=30, icon="check2-square", section="contacts:task_"))
    for provider in search.PROVIDERS:
        crm_search.register(provider)
    timeline.register(activity_entries)
    startpage.register(Widget("contacts.my_tasks", "contacts/widgets/my_tasks.html", widgets.my_tasks, order=10))
    startpage.register(
        Widget("contacts.team_tasks", "contacts/widgets/team_tasks.html", widgets.team_tasks, order=15, roles=MANAGER_ROLES)
    )
    startpage.register(
        Widget("contacts.my_organizations", "contacts/widgets/my_organizations.html", widgets.my_organizations, order=20)
    )
    register_privacy()
    register_change_feed()


def register_change_feed() -> None:
    from contacts.models import Organization, Person
    from crm import changefeed

    changefeed.register("person", Person)
    changefeed.register("organization", Organization)
    register_webhooks()


def register_webhooks() -> None:
    """Webhook payloads show a person or an organization as the API does."""
    from crm import webhooks

    def _load_api():
        # DRF's views first: importing crm.api.exceptions first (outside a request, in a worker)
        # runs into the circle exceptions -> rest_framework.views -> parser setting -> exceptions.
        import rest_framework.views  # noqa: F401

    def person(instance):
        _load_api()
        from contacts.api.serializers import PersonSerializer

        return PersonSerializer(instance, context={"user": None}).data

    def organization(instance):
        _load_api()
        from contacts.api.serializers import OrganizationSerializer

        return OrganizationSerializer(instance, context={"user": None}).data

    webhooks.register_kind("person", person)
    webhooks.register_kind("organization", organization)


def _privacy_url(name: str):
    def url(person, user):
        return reverse(name, args=[person.pk]) if has_role(user, *PRIVACY_ROLES) else None

    return url


def register_privacy() -> None:
    from contacts.mailboxes import privacy as mailbox_privacy
    from contacts.services import privacy as contacts_privacy

    mailbox_privacy.register()
    privacy.register(
        privacy.PrivacyProvider(
            "contacts.person", _("Person, organizations, notes, tasks and files"),
            export=contacts_privacy.export_person, erase=contacts_privacy.erase_person, order=10,
        )
    )
    recordpage.register_action(
        recordpage.Action("contacts.data_export", "contacts.person", _("Data export"),
                          url=_privacy_url("contacts:person_data_export"), icon="download", order=900)
    )
    recordpage.register_action(
        recordpage.Action("contacts.erase", "contacts.person", _("Erase (GDPR)…"),
                          url=_privacy_url("contacts:person_erase"), icon="eraser", order=910)
    )
