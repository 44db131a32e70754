"""The analytics app's pages for the page-frame walk and the access matrix (crm/tests/catalogue.py).
Every CRM role may open the data-quality dashboard; the sales dashboard is for admins and sales roles,
the customers dashboard for them and marketing (making a segment from it is a POST).
What a dashboard counts is limited to what the role may see."""

from crm.roles import Role

SALES_DASHBOARD_ROLES = {Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP}
CUSTOMERS_DASHBOARD_ROLES = {Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP, Role.MARKETING}
POST_ONLY_PAGES = {"analytics:customers_segment"}


def url_queries(records) -> dict[str, str]:
    return {}


def expected(name: str, role: str) -> set[int] | None:
    if name == "analytics:sales":
        return {200} if role in SALES_DASHBOARD_ROLES else {403}
    if name == "analytics:customers":
        return {200} if role in CUSTOMERS_DASHBOARD_ROLES else {403}
    return None
