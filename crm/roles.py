"""The roles of the CRM. Each role is a Django group of the same name, made by a data migration."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    SALES_MANAGER = "sales_manager", _("Sales manager")
    SALES_REP = "sales_rep", _("Sales rep")
    MARKETING = "marketing", _("Marketing")
    SUPPORT_LEAD = "support_lead", _("Support lead")
    SUPPORT_AGENT = "support_agent", _("Support agent")
    MEMBERSHIP_MANAGER = "membership_manager", _("Membership manager")


ALL_ROLES = tuple(Role.values)
MANAGER_ROLES = (Role.ADMIN, Role.SALES_MANAGER, Role.SUPPORT_LEAD)
SALES_ROLES = (Role.SALES_MANAGER, Role.SALES_REP)
SERVICE_ROLES = (Role.SUPPORT_LEAD, Role.SUPPORT_AGENT)
# Who may open a ticket for a customer (sales and marketing from the person's page); only service
# staff work on tickets afterwards.
TICKET_OPEN_ROLES = (Role.ADMIN, *SERVICE_ROLES, *SALES_ROLES, Role.MARKETING)
# Who may take customer data out of the CRM as a file.
EXPORT_ROLES = (Role.ADMIN, Role.SALES_MANAGER, Role.MARKETING)
# Who may bring many records in at once.
IMPORT_ROLES = (Role.ADMIN, Role.SALES_MANAGER, Role.MARKETING)
# Who enters fixed appointments with customers (sales and service; marketing offers times at most).
BOOKING_ROLES = (Role.ADMIN, *SALES_ROLES, *SERVICE_ROLES)
# Who keeps the register of members of an association (members, membership types).
MEMBERSHIP_ROLES = (Role.ADMIN, Role.MEMBERSHIP_MANAGER)
# Data protection exports and erasures (GDPR art. 15 and 17) of a person.
PRIVACY_ROLES = (Role.ADMIN,)


def user_roles(user) -> frozenset[str]:
    """The role names of a user, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_crm_roles", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
        if user.is_superuser:
            cached = cached | {Role.ADMIN.value}
        user._crm_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & {str(r) for r in roles})


def is_crm_user(user) -> bool:
    """Anyone with at least one role may use the CRM at all."""
    return bool(user_roles(user))
