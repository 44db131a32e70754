"""Plugs analytics into the shared machinery of crm/ (navigation, benchmarks)."""

from django.utils.translation import gettext_lazy as _

from crm import navigation
from crm.navigation import NavItem
from crm.roles import Role


def register_all() -> None:
    from analytics import (
        benchmarks,  # noqa: F401  (registers itself on import)
        privacy,  # noqa: F401  (classifies its fields on import)
        snapshots,
    )
    from analytics.services import appointments, customers, marketing, quality, sales, service

    snapshots.register("data_quality", quality.compute)
    snapshots.register("sales", sales.compute)
    snapshots.register("service", service.compute)
    snapshots.register("marketing", marketing.compute)
    snapshots.register("appointments", appointments.compute)
    snapshots.register("customers", customers.compute)

    navigation.register(
        NavItem(_("Data quality"), "analytics:data_quality", order=90, icon="clipboard-check", section="analytics:data_quality")
    )
    navigation.register(
        NavItem(_("Sales"), "analytics:sales", order=91, icon="graph-up",
                roles=(Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP), section="analytics:sales")
    )
    navigation.register(
        NavItem(_("Service"), "analytics:service", order=92, icon="headset",
                roles=(Role.ADMIN, Role.SUPPORT_LEAD, Role.SUPPORT_AGENT), section="analytics:service")
    )
    navigation.register(
        NavItem(_("Marketing"), "analytics:marketing", order=93, icon="megaphone",
                roles=(Role.ADMIN, Role.MARKETING, Role.SALES_MANAGER), section="analytics:marketing")
    )
    navigation.register(
        NavItem(_("Appointments"), "analytics:appointments", order=94, icon="calendar-check",
                roles=(Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP, Role.SUPPORT_LEAD, Role.SUPPORT_AGENT),
                section="analytics:appointments")
    )
    navigation.register(
        NavItem(_("Customers"), "analytics:customers", order=95, icon="people", section="analytics:customers",
                roles=(Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP, Role.MARKETING))
    )
