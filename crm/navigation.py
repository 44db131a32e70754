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
