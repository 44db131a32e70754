"""Pieces shared by the sales pages."""

from crm.roles import Role

# Who works in sales: creates and changes deals and leads.
SALES_WRITERS = (Role.ADMIN, Role.SALES_MANAGER, Role.SALES_REP)
