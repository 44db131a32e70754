"""The timeline on person and organization pages: adding notes and tasks without a reload,
ticking tasks off, loading older entries; and the task list."""


from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from contacts.filters import TaskFilter
from contacts.forms.records import NoteForm, TaskForm
from contacts.models import Activity
from contacts.views.common import subject_from, timeline_context
from crm.access import role_required
from crm.breadcrumbs import crumb
from crm.lists import FilteredListView


@require_GET
@role_required()
def timeline(request):
    """Older timeline entries (the "show more" button)."""
    person, organization = subject_from(request, request.GET)
    before = parse_datetime(request.GET.get("before", "") or "")
    if before is not None and timezone.is_naive(before):
        before = timezone.make_aware(before)
    context = {
        **timeline_context(request, person=person, organization=organization, before=before),
        "about": {"person": person.pk} if person else {"organization": organization.pk},
    }
    # The filter asks for the whole list (its checkboxes included), "show older" for more entries.
    template = "contacts/partials/timeline_list.html" if request.GET.get("part") == "list" else "contacts/partials/timeline_entries.html"
    return render(request, template, context)


@require_POST
@role_required()
def activity_create(request):
    """Adds a note (or call, email, meeting) or a task to the timeline; htmx swaps in the result."""
    person, organization = subject_from(request, request.POST)
    about = {"person": person.pk} if person else {"organization": organization.pk}
    is_task = request.POST.get("form") == "task"
    instance = Activity.new_about(person=person, organization=organization, created_by=request.user)
    if is_task:
        instance.kind = Activity.Kind.TASK
        instance.occurred_at = timezone.now()
        form = TaskForm(request.POST, prefix="task", user=request.user, instance=instance)
    else:
        form = NoteForm(request.POST, prefix="note", instance=instance)
    if not form.is_valid():
        template = "contacts/partials/task_form.html" if is_task else "contacts/partials/note_form.html"
        response = render(request, template, {"note_form": form, "task_form": form, "about": about})
        response["HX-Retarget"] = "#task-form" if is_task else "#note-form"
        response["HX-Reswap"] = "outerHTML"
        response.status_code = 422
        return response
    activity = form.save()
    if not request.htmx:
        messages.success(request, _("Saved."))
        return _redirect_back(person, organization)
    context = {
        **timeline_context(request, person=person, organization=organization),
        "about": about,
        "note_form": NoteForm(prefix="note"),
        "task_form": TaskForm(prefix="task", user=request.user),
        "saved": activity,
    }
    return render(request, "contacts/partials/timeline_after_add.html", context)


def _redirect_back(person, organization):
    return redirect((person or organization).get_absolute_url())


def _activity_for_change(request, pk):
    activity = get_object_or_404(Activity.objects.visible_to(request.user), pk=pk)
    if not Activity.objects.editable_by(request.user).filter(pk=pk).exists():
        raise PermissionDenied
    return activity


@require_POST
@role_required()
def activity_toggle_done(request, pk: int):
    activity = get_object_or_404(Activity.objects.visible_to(request.user).tasks(), pk=pk)
    if not Activity.objects.editable_by(request.user).filter(pk=pk).exists():
        raise PermissionDenied
    activity.mark_done(done=not activity.done)
    if request.htmx:
        return render(request, "contacts/partials/task_status.html", {"activity": activity, "now": timezone.now()})
    return _redirect_back(activity.person, activity.organization)


@require_POST
@role_required()
def activity_delete(request, pk: int):
    activity = _activity_for_change(request, pk)
    person, organization = activity.person, activity.organization
    activity.delete()
    if request.htmx:
        return HttpResponse("")
    messages.success(request, _("Deleted."))
    return _redirect_back(person, organization)


class TaskListView(FilteredListView):
    model = Activity
    filterset_class = TaskFilter
    template_name = "contacts/task_list.html"
    table_template = "contacts/partials/task_table.html"
    sort_fields = {"due": ("due_at",), "subject": ("subject",)}
    default_sort = "due"

    def base_queryset(self):
        return Activity.objects.visible_to(self.request.user).tasks().select_related("person", "organization", "assignee")

    def get_breadcrumbs(self):
        return [crumb(_("Tasks"))]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["now"] = timezone.now()
        return context


