from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    """The shared machinery: roles, teams, page frame, search, help, timeline."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "crm"
    verbose_name = _("CRM core")

    def ready(self):
        from crm import customfields, metrics, outbox, privacy, webhooks
        from crm.webhooks import benchmarks  # noqa: F401  (registers itself)

        privacy.register_core_fields()
        customfields.register_panels()
        webhooks.connect_signals()
        metrics.connect_signals()
        register_settings()

        # Before the apps (which erase what they stored) and contacts (the person record, last):
        # the outbox still finds the mail that names the person.
        privacy.register(privacy.PrivacyProvider(
            "crm.outbox", _("Emails sent"), export=outbox.export_person, erase=outbox.erase_person, order=90,
        ))


def register_settings() -> None:
    from crm import settingspages
    from crm.roles import Role
    from crm.settingspages import SettingsEntry

    settingspages.register(SettingsEntry(
        "crm.webhooks", _("Integrations"), _("Webhooks"),
        _("Tell other systems at once when records change: endpoints, secrets, delivery log."),
        "webhook_list", roles=(Role.ADMIN,), order=900, icon="broadcast",
    ))
    settingspages.register(SettingsEntry(
        "crm.customfields", _("Records"), _("Custom fields"),
        _("Fields of your own on people, organizations, leads, deals, tickets and appointments."),
        "customfield_list", roles=(Role.ADMIN,), order=100, icon="ui-checks",
    ))
