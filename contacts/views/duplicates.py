"""The duplicates page (three kinds of likely duplicates, a page of groups at a time) and the
merge pages that compare two records and merge one into the other."""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from contacts.forms.merge import MergeForm
from contacts.models import Organization, Person
from contacts.services import duplicates as services
from crm.access import get_editable_or_403, role_required
from crm.breadcrumbs import crumb

MAX_CURSOR_LENGTH = 300


@dataclass(frozen=True)
class Tab:
    slug: str
    label: str
    description: str
    find: object
    model: type
    merge_url_name: str


TABS = [
    Tab(
        "email",
        gettext_lazy("Same email"),
        gettext_lazy("People who share an email address, as first or second address."),
        services.email_duplicate_groups,
        Person,
        "contacts:person_merge",
    ),
    Tab(
        "names",
        gettext_lazy("Same name at an organization"),
        gettext_lazy("People with the same name (ignoring case, accents and titles) at the same organization."),
        services.name_duplicate_groups,
        Person,
        "contacts:person_merge",
    ),
    Tab(
        "organizations",
        gettext_lazy("Similar organization names"),
        gettext_lazy("Organizations whose names are the same once legal form, case and accents are ignored."),
        services.organization_duplicate_groups,
        Organization,
        "contacts:organization_merge",
    ),
]
TABS_BY_SLUG = {tab.slug: tab for tab in TABS}


def _list_crumb(model):
    if model is Organization:
        return crumb(_("Organizations"), "contacts:organization_list")
    return crumb(_("People"), "contacts:person_list")


def _tab_url(tab: Tab, after: str = "") -> str:
    query = {"tab": tab.slug, **({"after": after} if after else {})}
    return f"{reverse('contacts:duplicate_list')}?{urlencode(query)}"


@role_required()
def duplicate_list(request):
    tab = TABS_BY_SLUG.get(request.GET.get("tab", ""), TABS[0])
    after = request.GET.get("after", "")[:MAX_CURSOR_LENGTH]
    page = tab.find(user=request.user, after=after)
    ids = {member.pk for group in page.groups for member in group.members}
    editable = set(
        tab.model.objects.editable_by(request.user).filter(pk__in=ids).order_by().values_list("pk", flat=True)
    )
    for group in page.groups:
        # The oldest record the user may change is the suggested survivor of its group.
        survivor = next((m for m in group.members if m.pk in editable), None)
        for member in group.members:
            member.merge_url = (
                reverse(tab.merge_url_name, args=[survivor.pk, member.pk])
                if survivor and member.pk in editable and member.pk != survivor.pk
                else ""
            )
        can_merge = any(member.merge_url for member in group.members)
        for member in group.members:
            member.is_suggested_survivor = can_merge and member.pk == survivor.pk
    context = {
        "tab": tab.slug,
        "current_tab": tab,
        "tabs": [(t, _tab_url(t), t.slug == tab.slug) for t in TABS],
        "page": page,
        "first_page_url": _tab_url(tab) if after else "",
        "next_page_url": _tab_url(tab, page.next_cursor) if page.next_cursor else "",
        "breadcrumbs": [_list_crumb(tab.model), crumb(_("Duplicates"))],
    }
    template = "contacts/duplicate_list.html"
    if getattr(request, "htmx", False) and request.htmx.target == "duplicate-groups":
        template = "contacts/partials/duplicate_groups.html"
    return render(request, template, context)


def _merge_page(request, pk: int, other_pk: int, *, model, merge, tab: str):
    survivor = get_editable_or_403(model, request.user, pk=pk)
    duplicates_url = f"{reverse('contacts:duplicate_list')}?{urlencode({'tab': tab})}"
    if pk == other_pk:
        messages.error(request, _("A record cannot be merged with itself. Choose two different records."))
        return redirect(duplicates_url)
    other = get_editable_or_403(model, request.user, pk=other_pk)
    form = MergeForm(request.POST or None, survivor=survivor, other=other)
    if request.method == "POST":
        if form.is_valid():
            merged_label = str(other)
            try:
                survivor = merge(survivor=survivor, other=other, user=request.user, field_values=form.field_values())
            except model.DoesNotExist as exc:
                raise Http404 from exc
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request, _("“%(other)s” was merged into “%(survivor)s”.") % {"other": merged_label, "survivor": survivor}
                )
                return redirect(survivor)
        elif form.is_stale:
            messages.warning(request, form.non_field_errors()[0])
            form = MergeForm(survivor=survivor, other=other)
    merge_url_name = f"contacts:{model._meta.model_name}_merge"
    context = {
        "form": form,
        "survivor": survivor,
        "other": other,
        "model_label": model._meta.verbose_name,
        "moves": [move for move in services.merge_preview(other=other) if move.count],
        "swap_url": reverse(merge_url_name, args=[other.pk, survivor.pk]),
        "cancel_url": duplicates_url,
        "title": _("Merge %(kind)s") % {"kind": model._meta.verbose_name_plural},
        "breadcrumbs": [_list_crumb(model), crumb(_("Duplicates"), url=duplicates_url), crumb(_("Merge"))],
    }
    return render(request, "contacts/record_merge.html", context, status=400 if form.errors else 200)


@role_required()
@require_http_methods(["GET", "POST"])
def person_merge(request, pk: int, other_pk: int):
    return _merge_page(request, pk, other_pk, model=Person, merge=services.person_merge, tab="email")


@role_required()
@require_http_methods(["GET", "POST"])
def organization_merge(request, pk: int, other_pk: int):
    return _merge_page(request, pk, other_pk, model=Organization, merge=services.organization_merge, tab="organizations")

