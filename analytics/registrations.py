"""Plugs analytics into the shared machinery of crm/ (navigation, benchmarks)."""

from django.utils.translation import gettext_lazy as _

from crm import navigation
from crm.navigation import NavItem
from crm.roles import Role


def register_all() -> None:
    from analytics import (
        benchmarks,  # noqa: F401  (registers itself on import)
        snapshots,
    )
    from analytics.services import customers, quality, sales

    snapshots.register("data_quality", quality.compute)
    snapshots.register("sales", sales.compute)
    snapshots.register("customers", customers.compute)

    navigation.register(
        NavItem(_("Data quality"), "analytics:data_quality", order=90, icon="clipboard-check", section="analytics:data_quality")
    )
    navigation.register(
        NavItem(_("Sales"), "analytics:sales", order=91, icon="graph-up",
                roles=(Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP), section="analytics:sales")
    )
    navigation.register(
        NavItem(_("Customers"), "analytics:customers", order=94, icon="people", section="analytics:customers",
                roles=(Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP, Role.MARKETING))
    )
