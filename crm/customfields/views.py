"""The settings page of custom fields (admins only): list, create, edit, reorder, delete."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import customfields
from crm.access import role_required
from crm.breadcrumbs import crumb
from crm.customfields.definition_forms import CustomFieldForm, DeleteForm
from crm.models import CustomField
from crm.roles import Role
from crm.settingspages import settings_crumb

admin_only = role_required(Role.ADMIN)


def _trail():
    return [settings_crumb(), crumb(_("Custom fields"), "customfield_list")]


@admin_only
def customfield_list(request):
    fields = list(CustomField.objects.order_by("model", "group", "order", "pk"))
    sections = [(value, label, [f for f in fields if f.model == value]) for value, label in CustomField.Model.choices]
    return render(request, "crm/customfield_list.html", {
        "sections": sections, "breadcrumbs": [settings_crumb(), crumb(_("Custom fields"))],
    })


@admin_only
def customfield_create(request):
    initial = {}
    if request.GET.get("model") in CustomField.Model.values:
        initial["model"] = request.GET["model"]
    form = CustomFieldForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        field = form.save()
        messages.success(request, _("The field “%(label)s” was created.") % {"label": field.label})
        return redirect("customfield_list")
    return render(request, "crm/customfield_form.html", {
        "form": form, "breadcrumbs": [*_trail(), crumb(_("New field"))],
    })


@admin_only
def customfield_edit(request, pk: int):
    field = get_object_or_404(CustomField, pk=pk)
    form = CustomFieldForm(request.POST or None, instance=field)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
        messages.success(request, _("The field “%(label)s” was saved.") % {"label": field.label})
        return redirect("customfield_list")
    return render(request, "crm/customfield_form.html", {
        "form": form, "field": field, "breadcrumbs": [*_trail(), crumb(field.label), crumb(_("Edit"))],
    })


@admin_only
def customfield_delete(request, pk: int):
    """Asks first, saying how many records lose their value."""
    field = get_object_or_404(CustomField, pk=pk)
    count = field.records().count()
    form = DeleteForm(request.POST or None) if count else None
    if request.method == "POST" and (form is None or form.is_valid()):
        label = field.label
        touched = customfields.definition_delete(field)
        messages.success(request, _("The field “%(label)s” was deleted, with its values on %(count)s records.") % {
            "label": label, "count": touched})
        return redirect("customfield_list")
    return render(request, "crm/customfield_delete.html", {
        "field": field, "count": count, "form": form,
        "breadcrumbs": [*_trail(), crumb(field.label, url=field.get_absolute_url()), crumb(_("Delete"))],
    })


@require_POST
@admin_only
def customfield_move(request, pk: int):
    """One step up or down within the field's records and group."""
    field = get_object_or_404(CustomField, pk=pk)
    siblings = list(CustomField.objects.filter(model=field.model, group=field.group).order_by("order", "pk"))
    index = siblings.index(field)
    target = index - 1 if request.POST.get("direction") == "up" else index + 1
    if 0 <= target < len(siblings):
        siblings[index], siblings[target] = siblings[target], siblings[index]
        customfields.definitions_reorder(field.model, [str(f.pk) for f in siblings])
    return redirect("customfield_list")
