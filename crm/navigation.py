"""Top navigation: apps register their entries in AppConfig.ready()."""

from dataclasses import dataclass, field

from crm.roles import ALL_ROLES, has_role


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    order: int = 100
    roles: tuple[str, ...] = ALL_ROLES
    children: tuple["NavItem", ...] = field(default_factory=tuple)
    icon: str = ""
    section: str = ""  # view-name prefix that marks this entry active, e.g. "contacts:person_"


_items: list[NavItem] = []


def register(item: NavItem) -> None:
    if all(existing.url_name != item.url_name for existing in _items):
        _items.append(item)


def items_for(user) -> list[NavItem]:
    return [item for item in sorted(_items, key=lambda i: i.order) if has_role(user, *item.roles)]


@dataclass(frozen=True)
class NavGroup:
    """The entries of one app: a plain link when it has one entry, a dropdown when it has more."""

    key: str
    label: str
    entries: tuple[tuple[NavItem, bool], ...]  # (item, active)

    @property
    def active(self) -> bool:
        return any(active for _item, active in self.entries)

    @property
    def icon(self) -> str:
        return self.entries[0][0].icon


def _is_active(item: NavItem, view_name: str) -> bool:
    return view_name == item.url_name or bool(item.section and view_name.startswith(item.section))


def groups_for(user, view_name: str) -> list[NavGroup]:
    """The user's entries grouped by app (the URL namespace), in the order of each app's first entry."""
    from django.apps import apps

    grouped: dict[str, list[NavItem]] = {}
    for item in items_for(user):
        grouped.setdefault(item.url_name.split(":")[0] if ":" in item.url_name else item.url_name, []).append(item)
    groups = []
    for key, items in grouped.items():
        try:
            label = apps.get_app_config(key).verbose_name
        except LookupError:
            label = items[0].label
        groups.append(NavGroup(key, label, tuple((item, _is_active(item, view_name)) for item in items)))
    return groups
