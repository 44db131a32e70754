"""Documents on people and organizations, stored through Django's storage API and only
handed out to users who may see the record."""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contacts.forms.records import AttachmentForm
from contacts.models import Attachment
from contacts.views.common import subject_from
from crm.access import get_editable_or_403, get_visible_or_404, role_required


@require_POST
@role_required()
def attachment_upload(request):
    person, organization = subject_from(request, request.POST)
    target = person or organization
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        attachment = Attachment.store_upload(
            form.cleaned_data["file"], person=person, organization=organization, user=request.user
        )
        form = AttachmentForm()
        if not request.htmx:
            messages.success(request, _("“%(name)s” was uploaded.") % {"name": attachment.name})
    elif not request.htmx:
        for error in form.errors.get("file", []):
            messages.error(request, error)
    if not request.htmx:
        return redirect(target.get_absolute_url())
    context = {
        "attachments": target.attachments.visible_to(request.user).select_related("uploaded_by")[:50],
        "attachment_form": form,
        "about": {"person": person.pk} if person else {"organization": organization.pk},
    }
    return render(request, "contacts/partials/attachments.html", context)


@role_required()
def attachment_download(request, pk: int):
    attachment = get_visible_or_404(Attachment, request.user, pk=pk)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("The file is missing from the storage."))
    response = FileResponse(handle, as_attachment=True, filename=attachment.name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@role_required()
def attachment_delete(request, pk: int):
    attachment = get_editable_or_403(Attachment, request.user, pk=pk)
    target = attachment.person or attachment.organization
    attachment.file.delete(save=False)
    attachment.delete()
    messages.success(request, _("“%(name)s” was deleted.") % {"name": attachment.name})
    return redirect(target.get_absolute_url())
