"""The analytics pages measured by `manage.py benchmark`."""

from django.urls import reverse

from crm.benchmarks import Endpoint, register
from crm.roles import Role

PERIODS = ["month", "quarter", "year", "12m"]

register(Endpoint(
    "dashboard_sales", lambda user, rng: f"{reverse('analytics:sales')}?period={rng.choice(PERIODS)}", role=Role.SALES_MANAGER
))
register(Endpoint(
    "dashboard_sales_admin", lambda user, rng: f"{reverse('analytics:sales')}?period={rng.choice(PERIODS)}", role=Role.ADMIN
))
register(Endpoint(
    "dashboard_customers", lambda user, rng: f"{reverse('analytics:customers')}?period={rng.choice(PERIODS)}",
    role=Role.SALES_MANAGER,
))
