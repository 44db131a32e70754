"""Extension points on record pages: other apps add buttons ("New deal", "Offer times") and
cards ("Open tickets", "Campaigns") to a record's page without the owning app knowing them.

    recordpage.register_action(Action("sales.new_deal", "contacts.person", _("New deal"),
                                      url=lambda obj, user: reverse(...) or None, icon="briefcase"))
    recordpage.register_panel(Panel("service.tickets", "contacts.person", "service/partials/person_tickets.html",
                                    context=lambda request, obj: {...} or None))

A template renders them with `{% record_actions object %}` and `{% record_panels object %}`
(crm_tags). `url` or `context` returning None hides the entry for that user or record; a panel's
context function must use a constant number of queries (they run on every page view).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.template.loader import render_to_string


@dataclass(frozen=True)
class Action:
    key: str
    model: str  # "app_label.modelname", lower case, as in Model._meta.label_lower
    label: str
    url: Callable  # (obj, user) -> str | None
    icon: str = ""
    order: int = 100
    # Destructive (an erasure): not in the page's action row but in its marked place for deleting
    # (includes/record_danger_zone.html), with `description` saying what it does.
    destructive: bool = False
    description: str = ""


@dataclass(frozen=True)
class Panel:
    key: str
    model: str
    template: str
    context: Callable  # (request, obj) -> dict | None
    order: int = 100


_actions: dict[str, Action] = {}
_panels: dict[str, Panel] = {}


def register_action(action: Action) -> None:
    _actions[action.key] = action


def register_panel(panel: Panel) -> None:
    _panels[panel.key] = panel


def actions_for(obj, user, *, destructive: bool = False) -> list[tuple[Action, str]]:
    """The record's buttons for this user: the everyday ones, or with `destructive` the others."""
    label = obj._meta.label_lower
    found = []
    for action in sorted(_actions.values(), key=lambda a: (a.order, a.key)):
        if action.model == label and action.destructive == destructive and (url := action.url(obj, user)):
            found.append((action, url))
    return found


def render_panels(request, obj) -> list[str]:
    """Each visible panel rendered (a safe string: its template escaped what it shows)."""
    label = obj._meta.label_lower
    parts = []
    for panel in sorted(_panels.values(), key=lambda p: (p.order, p.key)):
        if panel.model != label:
            continue
        context = panel.context(request, obj)
        if context is not None:
            parts.append(render_to_string(panel.template, {"object": obj, **context}, request=request))
    return parts
