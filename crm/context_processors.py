from django.conf import settings

from crm import navigation, settingspages
from crm.money import company_currency
from crm.roles import Role, user_roles


def frame(request):
    """What the layout needs on every page: navigation, the help page id, the user's roles, the
    company currency (the one converted totals are in)."""
    match = getattr(request, "resolver_match", None)
    roles = user_roles(request.user) if hasattr(request, "user") else frozenset()
    view_name = match.view_name if match else ""
    return {
        "nav_groups": navigation.groups_for(request.user, view_name) if roles else [],
        "help_page_id": match.view_name if match else "",
        "user_roles": roles,
        "has_settings": bool(roles) and settingspages.has_entries(request.user),
        "role_labels": [Role(r).label for r in sorted(roles)],
        "LANGUAGES": settings.LANGUAGES,
        "company_currency": company_currency(),
    }
