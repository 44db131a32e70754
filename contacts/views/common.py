"""Pieces shared by the organization and person pages."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _
from django.views.generic import CreateView, DeleteView, DetailView, UpdateView

from contacts.forms.records import AttachmentForm, NoteForm, TaskForm
from contacts.models import Organization, Person
from crm import changefeed
from crm import timeline as crm_timeline
from crm.access import RoleRequiredMixin, get_editable_or_403, get_visible_or_404
from crm.breadcrumbs import BreadcrumbMixin
from crm.timeline import timeline_for

TIMELINE_PAGE = 30


def timeline_context(request, *, person=None, organization=None, before=None) -> dict:
    """The timeline's entries, filtered by the kinds the request asks for (?kind=deal&kind=ticket),
    and the filter's checkboxes."""
    selected = timeline_kinds_from(request)
    entries, next_before = timeline_for(
        user=request.user, person=person, organization=organization, before=before, limit=TIMELINE_PAGE, kinds=selected
    )
    return {
        "timeline": entries,
        "timeline_next": next_before,
        "timeline_kinds": [(kind, selected is None or kind.key in selected) for kind in crm_timeline.kinds()],
        "timeline_filtered": sorted(selected) if selected is not None else [],
    }


def timeline_kinds_from(request) -> set[str] | None:
    return crm_timeline.parse_kinds(request.GET.getlist("kind"))


class RecordDetailView(RoleRequiredMixin, BreadcrumbMixin, DetailView):
    """Detail page of a person or organization: the record, its timeline and quick-add forms."""

    def get_object(self, queryset=None):
        return get_visible_or_404(self.model, self.request.user, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        obj = self.object
        context.update(
            can_edit=obj.is_editable_by(self.request.user),
            note_form=NoteForm(prefix="note"),
            task_form=TaskForm(prefix="task", user=self.request.user),
            attachment_form=AttachmentForm(),
            attachments=obj.attachments.visible_to(self.request.user).select_related("uploaded_by")[:50],
        )
        return context


class FormsetMixin:
    """Create/update views with one inline formset saved in the same transaction as the record."""

    formset_class = None
    success_message = ""

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        return kwargs

    def get_formset(self):
        return self.formset_class(
            self.request.POST or None, instance=getattr(self, "object", None) or self.model(), prefix="rows"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("formset", self.get_formset())
        return context

    def form_valid(self, form):
        formset = self.formset_class(self.request.POST, instance=form.instance, prefix="rows")
        if not formset.is_valid():
            return self.render_to_response(self.get_context_data(form=form, formset=formset))
        with changefeed.one_change():  # the record, its tags and rows: one change (feed entry, webhook)
            self.object = form.save()
            formset.instance = self.object
            formset.save()
        messages.success(self.request, self.success_message % {"name": self.object})
        return HttpResponseRedirect(self.object.get_absolute_url())

    def form_invalid(self, form):
        formset = self.formset_class(self.request.POST, instance=form.instance, prefix="rows")
        formset.is_valid()
        messages.error(self.request, _("Please correct the errors below."))
        return self.render_to_response(self.get_context_data(form=form, formset=formset))


class RecordCreateView(RoleRequiredMixin, BreadcrumbMixin, FormsetMixin, CreateView):
    def form_valid(self, form):
        self.object = None
        return super().form_valid(form)


class RecordUpdateView(RoleRequiredMixin, BreadcrumbMixin, FormsetMixin, UpdateView):
    """Edits refuse to overwrite a change saved by someone else after the form was opened."""

    def get_object(self, queryset=None):
        return get_editable_or_403(self.model, self.request.user, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The version the user has seen: on a conflict, the current one (saving again is then a
        # deliberate overwrite); on other errors, the one the form was opened with.
        context["version"] = (
            getattr(self, "seen_version", None) or self.request.POST.get("version") or self.object.updated_at.isoformat()
        )
        return context

    def form_valid(self, form):
        current = self.object.updated_at.isoformat()
        if self.request.POST.get("version") != current:
            form.add_error(
                None,
                _(
                    "Someone else saved this record after you opened it. Your changes are still in the form: "
                    "open the record in a new tab to see what changed, then save again."
                ),
            )
            self.seen_version = current
            return self.form_invalid(form)
        return super().form_valid(form)


class RecordDeleteView(RoleRequiredMixin, BreadcrumbMixin, DeleteView):
    template_name = "contacts/confirm_delete.html"

    def get_object(self, queryset=None):
        return get_editable_or_403(self.model, self.request.user, pk=self.kwargs["pk"])

    def form_valid(self, form):
        name = str(self.object)
        response = super().form_valid(form)
        messages.success(self.request, _("“%(name)s” was deleted.") % {"name": name})
        return response


def subject_from(request, data):
    """The person or organization an activity request is about, checked for visibility."""
    person_id, organization_id = data.get("person"), data.get("organization")
    person = get_visible_or_404(Person, request.user, pk=person_id) if str(person_id or "").isdigit() else None
    organization = (
        get_visible_or_404(Organization, request.user, pk=organization_id) if str(organization_id or "").isdigit() else None
    )
    if person is None and organization is None:
        raise PermissionDenied
    return person, organization
