"""The analytics app's pages for the page-frame walk and the access matrix (crm/tests/catalogue.py).
Every CRM role may open the data-quality dashboard; the sales dashboard is for admins and sales roles,
the service dashboard for admins and service roles, the marketing dashboard for admins, marketing
and sales managers, the appointments dashboard for everyone who hosts appointments and the
customers dashboard for admins, sales roles and marketing (making a segment from it is a POST).
What a dashboard counts is limited to what the role may see."""

from crm.roles import Role

SALES_DASHBOARD_ROLES = {Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP}
SERVICE_DASHBOARD_ROLES = {Role.ADMIN, Role.SUPPORT_LEAD, Role.SUPPORT_AGENT}
MARKETING_DASHBOARD_ROLES = {Role.ADMIN, Role.MARKETING, Role.SALES_MANAGER}
APPOINTMENTS_DASHBOARD_ROLES = {Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP, Role.SUPPORT_LEAD, Role.SUPPORT_AGENT}
CUSTOMERS_DASHBOARD_ROLES = {Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP, Role.MARKETING}
POST_ONLY_PAGES = {"analytics:customers_segment"}


def url_queries(records) -> dict[str, str]:
    return {}


def expected(name: str, role: str) -> set[int] | None:
    if name == "analytics:sales":
        return {200} if role in SALES_DASHBOARD_ROLES else {403}
    if name == "analytics:service":
        return {200} if role in SERVICE_DASHBOARD_ROLES else {403}
    if name == "analytics:marketing":
        return {200} if role in MARKETING_DASHBOARD_ROLES else {403}
    if name == "analytics:appointments":
        return {200} if role in APPOINTMENTS_DASHBOARD_ROLES else {403}
    if name == "analytics:customers":
        return {200} if role in CUSTOMERS_DASHBOARD_ROLES else {403}
    return None
