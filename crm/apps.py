from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    """The shared machinery: roles, teams, page frame, search, help, timeline."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "crm"
    verbose_name = _("CRM core")
