"""Writing an email to a person from their page: stored on the timeline and in the outbox, sent
by a worker through the user's own SMTP account when connected (contacts.mailboxes.sending)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from contacts.forms.mailbox import PersonEmailForm
from contacts.mailboxes.sending import own_smtp_account, person_email_send
from contacts.models import Person
from crm.access import get_visible_or_404, role_required
from crm.breadcrumbs import crumb


@role_required(record=Person)
def person_email(request, pk: int):
    person = get_visible_or_404(Person, request.user, pk=pk)
    form = PersonEmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person_email_send(person=person, user=request.user, **form.cleaned_data)
        except ValidationError as refusal:
            form.add_error(None, refusal)
        else:
            messages.success(request, _("The email is queued and goes out in a moment; it is on the timeline."))
            return redirect(person)
    account = own_smtp_account(request.user)
    context = {
        "form": form,
        "person": person,
        "title": _("Email to %(name)s") % {"name": person.full_name},
        "own_account": account.smtp_username if account is not None else "",
        "cancel_url": person.get_absolute_url(),
        "breadcrumbs": [
            crumb(_("People"), "contacts:person_list"), crumb(person.full_name, url=person.get_absolute_url()),
            crumb(_("Write an email")),
        ],
    }
    return render(request, "contacts/person_email.html", context)
