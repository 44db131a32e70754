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
    from contacts.models import Organization, Person
    from contacts.timeline import activity_entries
    from crm import history

    history.register(Person)
    history.register(Organization)

    navigation.register(NavItem(_("Organizations"), "contacts:organization_list", order=10, icon="building", section="contacts:organization_"))
    navigation.register(NavItem(_("People"), "contacts:person_list", order=20, icon="person", section="contacts:person_"))
    navigation.register(NavItem(_("Tasks"), "contacts:task_list", order=30, icon="check2-square", section="contacts:task_"))
    for provider in search.PROVIDERS:
        crm_search.register(provider)
    timeline.register(activity_entries, kind="activity", label=_("Activities"), order=10)
    startpage.register(Widget("contacts.my_tasks", "contacts/widgets/my_tasks.html", widgets.my_tasks, order=10))
    startpage.register(
        Widget("contacts.team_tasks", "contacts/widgets/team_tasks.html", widgets.team_tasks, order=15, roles=MANAGER_ROLES)
    )
    startpage.register(
        Widget("contacts.my_organizations", "contacts/widgets/my_organizations.html", widgets.my_organizations, order=20)
    )
    register_privacy()
    register_change_feed()
    register_sending()


def register_sending() -> None:
    """Email written on a person's page goes out through the user's own SMTP account."""
    from contacts.mailboxes.sending import sender_account
    from crm import outbox

    outbox.register_sender_account(sender_account)


def register_change_feed() -> None:
    from contacts.models import Employment, Organization, OrganizationAddress, Person
    from crm import changefeed

    changefeed.register("person", Person)
    changefeed.register("organization", Organization)
    # What the API shows with a record: a change of it is a change of the record.
    changefeed.watch_related(Employment, "person")
    changefeed.watch_related(OrganizationAddress, "organization")
    changefeed.watch_many_to_many(Person, "tags")
    changefeed.watch_many_to_many(Organization, "tags")
    register_webhooks()
    register_addressbook_trigger()


def register_addressbook_trigger() -> None:
    """A change of a person (or of the organization on their card) pushes the address books on
    the users' phones soon after (contacts.addressbooks); beat does the rest."""
    from django.db.models.signals import post_save

    from crm.models import ChangeEvent

    def changed(sender, instance, created, **kwargs):
        if created and instance.kind in ("person", "organization"):
            from contacts.addressbooks.sync import push_soon

            push_soon()

    post_save.connect(changed, sender=ChangeEvent, dispatch_uid="contacts-addressbooks-trigger", weak=False)


def register_webhooks() -> None:
    """Webhook payloads show a person or an organization as the API does. Built inside the
    request that made the change, so it must be cheap: one serializer per process (DRF builds
    a serializer's fields once per instance), and the related rows in one query each (a copy of
    the record gets them, so the caller's record keeps no cache that its next change would make
    stale)."""
    from django.db.models import Prefetch

    from crm import webhooks

    serializers = {}

    def _serializer(name):
        if name not in serializers:
            from contacts.api import serializers as api

            serializers[name] = getattr(api, name)(context={"user": None})
        return serializers[name]

    def _with_rows(instance, *lookups):
        import copy

        from django.db.models import prefetch_related_objects

        clone = copy.copy(instance)
        clone._state = copy.copy(instance._state)
        clone._state.fields_cache = dict(instance._state.fields_cache)
        clone._prefetched_objects_cache = {}
        prefetch_related_objects([clone], *lookups)
        return clone

    def person(instance):
        from contacts.models import Employment

        employments = Prefetch(
            "employments", queryset=Employment.objects.select_related("organization").order_by("-is_primary", "pk")
        )
        return _serializer("PersonSerializer").to_representation(_with_rows(instance, "tags", employments))

    def organization(instance):
        from contacts.models import OrganizationAddress

        addresses = Prefetch("addresses", queryset=OrganizationAddress.objects.order_by("kind", "pk"))
        return _serializer("OrganizationSerializer").to_representation(_with_rows(instance, "tags", addresses))

    webhooks.register_kind("person", person)
    webhooks.register_kind("organization", organization)


def _privacy_url(name: str):
    def url(person, user):
        return reverse(name, args=[person.pk]) if has_role(user, *PRIVACY_ROLES) else None

    return url


def register_privacy() -> None:
    from contacts.addressbooks import privacy as addressbook_privacy
    from contacts.mailboxes import privacy as mailbox_privacy
    from contacts.services import privacy as contacts_privacy

    mailbox_privacy.register()
    addressbook_privacy.register()
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
                          url=_privacy_url("contacts:person_erase"), icon="eraser", order=910, destructive=True,
                          description=_("Removes the person's personal data everywhere in the CRM, as the GDPR "
                                        "requires on request; what must be kept stays without the name."))
    )
