"""Data protection requests about a person: export everything stored (JSON) and erase it.
Only admins (the data protection officer's role here) may do either; both are logged."""

import json

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Person
from crm import privacy
from crm.access import get_visible_or_404, role_required
from crm.breadcrumbs import crumb
from crm.roles import PRIVACY_ROLES


@role_required(*PRIVACY_ROLES, record=Person)
def person_data_export(request, pk: int):
    person = get_visible_or_404(Person, request.user, pk=pk)
    data = privacy.export_person(person, by=request.user)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="person-{person.pk}-{timezone.localdate():%Y-%m-%d}.json"'
    return response


@role_required(*PRIVACY_ROLES, record=Person)
def person_erase(request, pk: int):
    person = get_visible_or_404(Person, request.user, pk=pk)
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm") == str(person.pk):
            touched = privacy.erase_person(person, by=request.user)
            messages.success(
                request,
                _("The personal data was erased: %(count)s records in %(areas)s areas.")
                % {"count": sum(touched.values()), "areas": len(touched)},
            )
            return redirect(person.get_absolute_url())
        error = _("Type the record number %(id)s to confirm.") % {"id": person.pk}
    return render(
        request,
        "contacts/person_erase.html",
        {
            "object": person,
            "error": error,
            "areas": [str(p.label) for p in privacy.providers()],
            "breadcrumbs": [
                crumb(_("People"), "contacts:person_list"),
                crumb(person.full_name, url=person.get_absolute_url()),
                crumb(_("Erase personal data")),
            ],
        },
    )
