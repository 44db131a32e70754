from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.generic import DetailView

from crm.access import get_editable_or_403, get_visible_or_404, role_required
from crm.breadcrumbs import crumb
from crm.lists import CappedPaginator, FilteredListView
from crm.views import RecordHistoryView
from marketing.filters import SegmentFilter
from marketing.forms import SegmentFilterForm, SegmentForm
from marketing.models import EDIT_ROLES, READ_ROLES, Segment, can_edit_marketing
from marketing.segments import FIXED_KEYS, PRESETS, describe, people_matching
from marketing.views.common import ReadMixin

PREVIEW_ROWS = 10


def _trail():
    return [crumb(_("Segments"), "marketing:segment_list")]


def preview_context(definition: dict) -> dict:
    """Live count (capped like every list) and the first people of a segment definition."""
    people = people_matching(definition).order_by("last_name", "first_name", "pk")
    paginator = CappedPaginator(people.only("id", "academic_title", "first_name", "last_name", "email", "city", "lifecycle_stage"), PREVIEW_ROWS)
    return {"count": paginator.count, "capped": paginator.is_capped, "cap": paginator.cap, "people": list(paginator.page(1))}


class SegmentListView(ReadMixin, FilteredListView):
    model = Segment
    filterset_class = SegmentFilter
    template_name = "marketing/segment_list.html"
    table_template = "marketing/partials/segment_table.html"
    sort_fields = {"name": ("name",), "updated": ("updated_at",)}
    default_sort = "name"

    def base_queryset(self):
        return super().base_queryset().select_related("owner")

    def get_breadcrumbs(self):
        return [crumb(_("Segments"))]

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "can_edit": can_edit_marketing(self.request.user), "presets": PRESETS}


class SegmentDetailView(ReadMixin, DetailView):
    model = Segment
    template_name = "marketing/segment_detail.html"

    def get_object(self, queryset=None):
        return get_visible_or_404(Segment, self.request.user, pk=self.kwargs["pk"])

    def get_breadcrumbs(self):
        return [*_trail(), crumb(self.object.name)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            can_edit=can_edit_marketing(self.request.user),
            parts=describe(self.object.definition),
            campaigns=list(self.object.campaigns.order_by("-created_at")[:20]),
            **preview_context(self.object.definition),
        )
        return context


def _segment_form(request, segment: Segment | None):
    preset = PRESETS.get(request.GET.get("preset", ""))
    if request.method == "POST":
        form = SegmentForm(request.POST, instance=segment)
        filter_form = SegmentFilterForm(request.POST, prefix="f")
        if form.is_valid() and filter_form.is_valid():
            segment = form.save(commit=False)
            if segment.owner_id is None:
                segment.owner = request.user
            # Conditions the form does not show (organizations chosen from a list) stay as they were.
            kept = {key: segment.definition[key] for key in FIXED_KEYS if key in (segment.definition or {})}
            segment.definition = {**filter_form.definition(), **kept}
            segment.save()
            messages.success(request, _("Segment “%(name)s” was saved.") % {"name": segment.name})
            return HttpResponseRedirect(segment.get_absolute_url())
        messages.error(request, _("Please correct the errors below."))
    else:
        initial = {"name": str(preset["label"])} if preset and segment is None else None
        definition = preset["definition"] if preset and segment is None else (segment.definition if segment else {})
        form = SegmentForm(instance=segment, initial=initial)
        filter_form = SegmentFilterForm(initial=SegmentFilterForm.initial_from(definition), prefix="f")
    trail = _trail() + (
        [crumb(segment.name, url=segment.get_absolute_url()), crumb(_("Edit"))] if segment else [crumb(_("New segment"))]
    )
    preview = preview_context(filter_form.definition() if filter_form.is_bound and filter_form.is_valid() else (
        SegmentFilterForm.initial_from(filter_form.initial)))
    context = {"form": form, "filter_form": filter_form, "object": segment, "breadcrumbs": trail, **preview}
    return render(request, "marketing/segment_form.html", context)


@role_required(*EDIT_ROLES)
def segment_create(request):
    return _segment_form(request, None)


@role_required(*EDIT_ROLES, record=Segment)
def segment_update(request, pk: int):
    return _segment_form(request, get_editable_or_403(Segment, request.user, pk=pk))


@role_required(*READ_ROLES)
def segment_preview(request):
    """htmx: the live count and first rows for the filter as it is being edited."""
    filter_form = SegmentFilterForm(request.GET, prefix="f")
    definition = filter_form.definition() if filter_form.is_valid() else {}
    context = {**preview_context(definition), "invalid": filter_form.is_bound and not filter_form.is_valid()}
    return render(request, "marketing/partials/segment_preview.html", context)


segment_history = RecordHistoryView.as_view(model=Segment, trail=_trail)
