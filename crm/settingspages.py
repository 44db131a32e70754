"""The settings hub (/settings/): apps register their settings pages with the roles that may open
them, in their AppConfig.ready() or registrations module; the hub lists a user's entries by area.

Adding a page is one call:

    settingspages.register(SettingsEntry(
        "contacts.fields", _("Data"), _("Custom fields"), _("Extra fields on people and organizations."),
        "contacts:field_list", roles=(Role.ADMIN,),
    ))
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from crm.breadcrumbs import Crumb, crumb
from crm.roles import has_role


@dataclass(frozen=True)
class SettingsEntry:
    key: str
    area: str  # the heading the entry is listed under, e.g. "Sales", "Integrations"
    label: str
    description: str  # one line: what the user sets up there
    url_name: str
    roles: tuple[str, ...]  # who may open the page (the page itself checks the same roles)
    order: int = 100
    icon: str = "gear"


@dataclass(frozen=True)
class SettingsArea:
    label: str
    entries: tuple[SettingsEntry, ...]


_entries: dict[str, SettingsEntry] = {}


def register(entry: SettingsEntry) -> None:
    _entries[entry.key] = entry


def entries_for(user) -> list[SettingsEntry]:
    """The user's entries, by order then label (no query: roles are cached on the user)."""
    return sorted((e for e in _entries.values() if has_role(user, *e.roles)), key=lambda e: (e.order, str(e.label)))


def areas_for(user) -> list[SettingsArea]:
    """The user's entries grouped by area, areas in the order of their first entry."""
    grouped: dict[str, list[SettingsEntry]] = {}
    for entry in entries_for(user):
        grouped.setdefault(str(entry.area), []).append(entry)
    return [SettingsArea(area, tuple(entries)) for area, entries in grouped.items()]


def has_entries(user) -> bool:
    return any(has_role(user, *e.roles) for e in _entries.values())


def settings_crumb() -> Crumb:
    """The first step of every settings page's trail: Home > Settings > ..."""
    return crumb(_("Settings"), "settings_index")
