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
    "dashboard_service", lambda user, rng: f"{reverse('analytics:service')}?period={rng.choice(PERIODS)}", role=Role.SUPPORT_LEAD
))
register(Endpoint(
    "dashboard_marketing", lambda user, rng: f"{reverse('analytics:marketing')}?period={rng.choice(PERIODS)}", role=Role.MARKETING
))
register(Endpoint(
    "dashboard_appointments", lambda user, rng: f"{reverse('analytics:appointments')}?period={rng.choice(PERIODS)}",
    role=Role.SALES_MANAGER,
))
