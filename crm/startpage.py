"""Start page widgets: apps register what a role sees first after logging in."""

from collections.abc import Callable
from dataclasses import dataclass

from crm.roles import ALL_ROLES, has_role


@dataclass(frozen=True)
class Widget:
    key: str
    template: str
    context: Callable  # (user) -> dict
    order: int = 100
    roles: tuple[str, ...] = ALL_ROLES
    width: int = 6  # Bootstrap grid columns on large screens


_widgets: dict[str, Widget] = {}


def register(widget: Widget) -> None:
    _widgets[widget.key] = widget


def widgets_for(user) -> list[tuple[Widget, dict]]:
    return [
        (w, w.context(user))
        for w in sorted(_widgets.values(), key=lambda w: w.order)
        if has_role(user, *w.roles)
    ]
