"""The user's own mailbox: connect it (tested before it is saved), see how the sync stands,
pause it, sync now, disconnect; and mark a synced email private."""

from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contacts.forms.mailbox import MailboxForm
from contacts.mailboxes import sync
from contacts.mailboxes.imap import MailboxError
from contacts.mailboxes.models import MailboxConnection, SyncedEmail
from contacts.mailboxes.sending import SmtpError
from crm.access import role_required
from crm.breadcrumbs import crumb

# Which field a connection error belongs next to.
ERROR_FIELDS = {
    MailboxConnection.Error.NOT_FOUND: "host",
    MailboxConnection.Error.REFUSED: "port",
    MailboxConnection.Error.TIMEOUT: "host",
    MailboxConnection.Error.CERTIFICATE: "host",
    MailboxConnection.Error.TLS: "security",
    MailboxConnection.Error.LOGIN: "password",
}
SMTP_ERROR_FIELDS = {
    MailboxConnection.Error.NOT_FOUND: "smtp_host",
    MailboxConnection.Error.REFUSED: "smtp_port",
    MailboxConnection.Error.TIMEOUT: "smtp_host",
    MailboxConnection.Error.CERTIFICATE: "smtp_host",
    MailboxConnection.Error.TLS: "smtp_security",
    MailboxConnection.Error.LOGIN: "smtp_password",
}


def _connection(user) -> MailboxConnection | None:
    return MailboxConnection.objects.filter(user=user).prefetch_related("folders").first()


@role_required()
def mailbox(request):
    connection = _connection(request.user)
    form = MailboxForm(request.POST or None, instance=connection or MailboxConnection(user=request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sync.mailbox_connect(
                user=request.user, host=data["host"], port=data["port"], security=data["security"],
                username=data["username"].strip(), password=data["password"], excluded=data["excluded"],
                smtp_host=data["smtp_host"], smtp_port=data["smtp_port"], smtp_security=data["smtp_security"],
                smtp_username=data["smtp_username"], smtp_password=data["smtp_password"],
            )
        except MailboxError as error:
            label = MailboxConnection.Error(error.code).label
            message = f"{label} ({error.detail})" if error.detail else label
            if isinstance(error, SmtpError):
                form.add_error(SMTP_ERROR_FIELDS.get(error.code, "smtp_host"), _("SMTP: %(error)s") % {"error": message})
            else:
                form.add_error(ERROR_FIELDS.get(error.code), message)
        else:
            messages.success(request, _("The mailbox is connected; its emails appear on the timelines within minutes."))
            _queue_sync(request.user)
            return redirect("contacts:mailbox")
    context = {
        "form": form,
        "connection": connection,
        "folders": list(connection.folders.all()) if connection else [],
        "testid": "mailbox",
        "breadcrumbs": [crumb(_("Mailbox"))],
    }
    return render(request, "contacts/mailbox.html", context)


def _queue_sync(user) -> None:
    from contacts.tasks import mailbox_sync

    connection_id = MailboxConnection.objects.filter(user=user).values_list("pk", flat=True).first()
    if connection_id is not None:
        transaction.on_commit(lambda: mailbox_sync.delay(connection_id))


@require_POST
@role_required()
def mailbox_sync_now(request):
    if _connection(request.user) is None:
        raise Http404
    _queue_sync(request.user)
    messages.success(request, _("The sync is queued; reload this page in a moment to see the result."))
    return redirect("contacts:mailbox")


@require_POST
@role_required()
def mailbox_pause(request):
    connection = _connection(request.user)
    if connection is None:
        raise Http404
    connection.is_paused = request.POST.get("pause") == "1"
    connection.save(update_fields=["is_paused"])
    messages.success(request, _("The sync is paused.") if connection.is_paused else _("The sync runs again."))
    if not connection.is_paused:
        _queue_sync(request.user)
    return redirect("contacts:mailbox")


@require_POST
@role_required()
def mailbox_disconnect(request):
    connection = _connection(request.user)
    if connection is None:
        raise Http404
    sync.mailbox_disconnect(connection=connection)
    messages.success(request, _("The mailbox is disconnected and its password deleted. Emails already synced stay on the timelines."))
    return redirect("contacts:mailbox")


@require_POST
@role_required()
def synced_email_private(request, pk: int):
    """Only the user whose mailbox brought the email in may hide it or show it again."""
    email = get_object_or_404(SyncedEmail.objects.owned_by(request.user), pk=pk)
    private = request.POST.get("private") == "1"
    sync.synced_email_set_private(email=email, private=private)
    messages.success(request, _("Only you see this email now.") if private else _("Everybody who sees the timeline sees this email again."))
    return redirect(email.get_absolute_url())
