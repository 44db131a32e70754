"""The analytics pages measured by `manage.py benchmark`: each dashboard twice, as users get it
(`dashboard_<name>`: a stored snapshot while fresh, see analytics.snapshots) and computed from
the records on every request (`dashboard_<name>_live`, the "Recompute now" link)."""

from django.urls import reverse

from crm.benchmarks import Endpoint, register
from crm.roles import Role

PERIODS = ["month", "quarter", "year", "12m"]


def dashboard(name: str, url_name: str, role: str) -> None:
    def url(live: bool):
        return lambda user, rng: f"{reverse(url_name)}?period={rng.choice(PERIODS)}" + ("&refresh=1" if live else "")

    register(Endpoint(f"dashboard_{name}", url(False), role=role))
    register(Endpoint(f"dashboard_{name}_live", url(True), role=role))


dashboard("data_quality", "analytics:data_quality", Role.SALES_MANAGER)
dashboard("sales", "analytics:sales", Role.SALES_MANAGER)
dashboard("sales_admin", "analytics:sales", Role.ADMIN)
dashboard("service", "analytics:service", Role.SUPPORT_LEAD)
dashboard("marketing", "analytics:marketing", Role.MARKETING)
dashboard("appointments", "analytics:appointments", Role.SALES_MANAGER)
dashboard("customers", "analytics:customers", Role.SALES_MANAGER)
