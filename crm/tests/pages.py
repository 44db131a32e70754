"""The crm project's own pages (see crm/tests/catalogue.py)."""

from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

POST_ONLY_PAGES = {
    "logout", "outgoing_email_resend", "api_token_revoke",
    "webhook_rotate", "webhook_ping", "webhook_enable", "webhook_resend", "customfield_move",
}
ADMIN_PAGES = {
    "outgoing_email_list", "outgoing_email_detail",
    "webhook_list", "webhook_create", "webhook_detail", "webhook_edit",
    "customfield_list", "customfield_create", "customfield_edit", "customfield_delete",
}
# Any logged-in account may look after its own password, with or without a CRM role.
ACCOUNT_PAGES = {"password_change", "password_change_done", "two_factor"}
PUBLIC_PAGES = {
    "login", "password_reset", "password_reset_done", "password_reset_confirm", "password_reset_complete",
    "help_index", "help_panel", "help_detail", "set_language",
}


def records(base: dict) -> dict:
    from crm.models import OutgoingEmail

    email = OutgoingEmail.objects.create(
        from_email="crm@crm.test", to="kunde@example.de", subject="Ihre Anfrage", body="Guten Tag", message_id="<1@crm.test>",
        state=OutgoingEmail.State.FAILED, attempts=10, last_reply="421 4.7.0 Try again later",
    )
    from crm.api import tokens

    token = tokens.token_create(user=base["user"], name="ERP", scope="read").token
    from crm import webhooks
    from crm.models import WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(
        url="https://hooks.example.com/crm", event_types=["person.created"], secret=webhooks.new_secret()
    )
    event = webhooks.emit("webhook.ping", payload={"message": "ping"}, endpoints=[endpoint.pk])
    from crm.models import Team

    team = Team.objects.create(name="Geschäftsführung", manager=base["user"])
    from crm.models import CustomField

    custom_field = CustomField.objects.create(model="contacts.person", key="shoe_size", type="integer", label_de="Schuhgröße")
    return {"outgoing_email": email, "api_token": token, "webhook_endpoint": endpoint, "custom_field": custom_field,
            "webhook_delivery": event.deliveries.get(), "team": team}


def url_kwargs(records) -> dict[str, dict]:
    return {
        "outgoing_email_detail": {"pk": records["outgoing_email"].pk},
        "outgoing_email_resend": {"pk": records["outgoing_email"].pk},
        "api_token_revoke": {"pk": records["api_token"].pk},
        **{name: {"pk": records["webhook_endpoint"].pk} for name in (
            "webhook_detail", "webhook_edit", "webhook_rotate", "webhook_ping", "webhook_enable")},
        "webhook_resend": {"pk": records["webhook_delivery"].pk},
        **{name: {"pk": records["custom_field"].pk} for name in (
            "customfield_edit", "customfield_delete", "customfield_move")},
        # Users and teams (the API): every CRM role reads its colleagues.
        "api:user-detail": {"pk": records["user"].pk},
        "api:team-detail": {"pk": records["team"].pk},
        "help_panel": {"page_id": "contacts:person_detail"},
        "help_detail": {"page_id": "contacts:person_detail"},
        # A well-formed but unused token: the page explains that the link is invalid.
        "password_reset_confirm": {
            "uidb64": urlsafe_base64_encode(force_bytes(records["user"].pk)),
            "token": default_token_generator.make_token(records["user"]) + "x",
        },
    }


def url_queries(records) -> dict[str, str]:
    return {"search": "q=mueller", "search_suggest": "q=mueller"}



def expected(name: str, role: str) -> set[int] | None:
    from crm.roles import Role

    if name in ADMIN_PAGES:
        return {200} if role == Role.ADMIN else {403}
    if name == "settings_index":  # open to the roles with at least one settings page
        from crm import settingspages

        return {200} if any(role in entry.roles for entry in settingspages._entries.values()) else {403}
    return None
