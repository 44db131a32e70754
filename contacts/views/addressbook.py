"""The user's own CardDAV address book: connect it (tested before it is saved), see how the
push stands and the conflicts found on the phone, push now, pause, disconnect."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contacts.addressbooks import sync
from contacts.addressbooks.carddav import AddressBookFailure
from contacts.addressbooks.models import AddressBookConflict, AddressBookConnection, AddressBookError
from contacts.forms.addressbook import AddressBookForm
from crm.access import role_required
from crm.breadcrumbs import crumb

# Which field a connection error belongs next to.
ERROR_FIELDS = {
    AddressBookError.LOGIN: "password",
    AddressBookError.NO_ADDRESSBOOK: "addressbook_name",
    AddressBookError.SEGMENT_GONE: "segment",
}
CONFLICTS_PER_PAGE = 20


def _connection(user) -> AddressBookConnection | None:
    return AddressBookConnection.objects.filter(user=user).first()


@role_required()
def addressbook(request):
    connection = _connection(request.user)
    initial = {}
    if connection:
        initial = {"url": connection.url, "username": connection.username, "addressbook_name": connection.addressbook_name,
                   "scope": connection.scope, "segment": connection.segment_id}
    form = AddressBookForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sync.addressbook_connect(
                user=request.user, url=data["url"], username=data["username"].strip(), password=data["password"],
                addressbook_name=data["addressbook_name"], scope=data["scope"], segment_id=data["segment"],
            )
        except AddressBookFailure as failure:
            label = AddressBookError(failure.code).label
            form.add_error(ERROR_FIELDS.get(failure.code, "url"), f"{label} ({failure.detail})" if failure.detail else label)
        else:
            messages.success(request, _("The address book is connected; the people appear on your phone within minutes."))
            return redirect("contacts:addressbook")
    conflicts = None
    if connection:
        conflicts = Paginator(connection.conflicts.all(), CONFLICTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "connection": connection,
        "cards_in_book": connection.cards.filter(last_error="").count() if connection else 0,
        "refused": list(connection.cards.exclude(last_error="").order_by("pk")[:10]) if connection else [],
        "conflicts": conflicts,
        "testid": "addressbook",
        "breadcrumbs": [crumb(_("Address book"))],
    }
    return render(request, "contacts/addressbook.html", context)


def _own(request) -> AddressBookConnection:
    connection = _connection(request.user)
    if connection is None:
        raise Http404
    return connection


@require_POST
@role_required()
def addressbook_push_now(request):
    connection = _own(request)
    if connection.is_paused:
        messages.error(request, _("The push is paused; resume it first."))
    else:
        sync._queue(connection.pk)
        messages.success(request, _("The push is queued; reload this page in a moment to see the result."))
    return redirect("contacts:addressbook")


@require_POST
@role_required()
def addressbook_pause(request):
    connection = _own(request)
    paused = request.POST.get("pause") == "1"
    sync.addressbook_set_paused(connection=connection, paused=paused)
    messages.success(request, _("The push is paused.") if paused else _("The push runs again."))
    return redirect("contacts:addressbook")


@require_POST
@role_required()
def addressbook_disconnect(request):
    sync.addressbook_disconnect(connection=_own(request))
    messages.success(request, _("The address book is disconnected and its password deleted. The cards already there stay."))
    return redirect("contacts:addressbook")


@require_POST
@role_required()
def addressbook_conflict_dismiss(request, pk: int):
    """Only the owner of the address book may dismiss its conflicts."""
    conflict = get_object_or_404(AddressBookConflict.objects.filter(connection__user=request.user), pk=pk)
    sync.conflict_dismiss(conflict=conflict)
    messages.success(request, _("The conflict is dismissed."))
    return redirect("contacts:addressbook")
