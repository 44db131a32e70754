from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import CreateView, DetailView, UpdateView

from contacts.models import Activity, ImportJob
from crm.access import RoleRequiredMixin, get_editable_or_403, role_required
from crm.breadcrumbs import BreadcrumbMixin, crumb
from crm.lists import FilteredListView
from crm.roles import Role, has_role
from crm.views import RecordHistoryView
from sales import services
from sales.automation import task_create
from sales.filters import LeadFilter
from sales.forms import LeadConvertForm, LeadForm, ReassignForm, TaskForm
from sales.imports import LEAD_IMPORT_ROLES
from sales.models import Lead
from sales.views.common import SALES_WRITERS


def _trail():
    return [crumb(_("Leads"), "sales:lead_list")]


class LeadListView(FilteredListView):
    model = Lead
    filterset_class = LeadFilter
    template_name = "sales/lead_list.html"
    table_template = "sales/partials/lead_table.html"
    sort_fields = {
        "name": ("last_name", "first_name"),
        "company": ("company",),
        "status": ("status", "-created_at"),
        "created": ("created_at",),
    }
    default_sort = "-created"

    def base_queryset(self):
        return (
            super()
            .base_queryset()
            .select_related("owner")
            .only(
                "id", "first_name", "last_name", "company", "email", "status", "rating", "source", "created_at",
                "owner__id", "owner__first_name", "owner__last_name", "owner__username",
            )
        )

    def get_breadcrumbs(self):
        return [crumb(_("Leads"))]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.update(
            can_import=has_role(user, *LEAD_IMPORT_ROLES),
            can_reassign=has_role(user, Role.ADMIN, Role.SALES_MANAGER),
            reassign_form=ReassignForm(),
        )
        return context


class LeadDetailView(RoleRequiredMixin, BreadcrumbMixin, DetailView):
    model = Lead
    template_name = "sales/lead_detail.html"

    def get_object(self, queryset=None):
        queryset = Lead.objects.select_related("owner", "territory", "converted_person", "converted_organization", "converted_deal")
        return get_object_or_404(queryset.visible_to(self.request.user), pk=self.kwargs["pk"])

    def get_breadcrumbs(self):
        return [*_trail(), crumb(str(self.object))]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        lead = self.object
        context.update(
            can_edit=lead.is_editable_by(self.request.user),
            activities=list(
                Activity.objects.filter(regarding_type=ContentType.objects.get_for_model(Lead), regarding_id=lead.pk)
                .select_related("assignee")
                .order_by("done", "-occurred_at")[:50]
            ),
            task_form=TaskForm(),
        )
        return context


class LeadCreateView(RoleRequiredMixin, BreadcrumbMixin, CreateView):
    allowed_roles = SALES_WRITERS
    model = Lead
    form_class = LeadForm
    template_name = "sales/lead_form.html"

    def get_initial(self):
        return {"owner": self.request.user.pk}

    def get_breadcrumbs(self):
        return [*_trail(), crumb(_("New lead"))]

    def form_valid(self, form):
        with transaction.atomic():
            lead = services.lead_record_created(lead=form.save(commit=False))
        self.object = lead
        messages.success(self.request, _("Lead “%(name)s” was created.") % {"name": lead})
        return HttpResponseRedirect(lead.get_absolute_url())


class LeadUpdateView(RoleRequiredMixin, BreadcrumbMixin, UpdateView):
    allowed_roles = SALES_WRITERS
    model = Lead
    form_class = LeadForm
    template_name = "sales/lead_form.html"

    def get_object(self, queryset=None):
        lead = get_editable_or_403(Lead, self.request.user, pk=self.kwargs["pk"])
        self.previous_status = lead.status
        return lead

    def get_breadcrumbs(self):
        return [*_trail(), crumb(str(self.object), url=self.object.get_absolute_url()), crumb(_("Edit"))]

    def form_valid(self, form):
        if self.previous_status == Lead.Status.CONVERTED:
            form.add_error(None, _("A converted lead is kept as it was; edit the person or deal instead."))
            return self.form_invalid(form)
        with transaction.atomic():
            lead = form.save()
            if lead.status != self.previous_status:
                services.lead_status_changed(lead=lead)
        messages.success(self.request, _("Lead “%(name)s” was saved.") % {"name": lead})
        return HttpResponseRedirect(lead.get_absolute_url())


lead_history = RecordHistoryView.as_view(model=Lead, trail=_trail)



@role_required(*SALES_WRITERS, record=Lead)
def lead_convert(request, pk: int):
    lead = get_editable_or_403(Lead, request.user, pk=pk)
    if not lead.is_open:
        messages.error(request, _("This lead is already converted or disqualified."))
        return redirect(lead)
    form = LeadConvertForm(request.POST or None, user=request.user, initial={"deal_name": lead.company or str(lead)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person, organization, deal = services.lead_convert(
                lead=lead, user=request.user, organization=data["organization"], create_deal=data["create_deal"],
                deal_name=data["deal_name"], stage=data["stage"], amount=data["amount"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Lead converted into %(person)s.") % {"person": person})
            return redirect(deal or person)
    context = {
        "form": form,
        "object": lead,
        "title": _("Convert lead %(name)s") % {"name": lead},
        "cancel_url": lead.get_absolute_url(),
        "breadcrumbs": [*_trail(), crumb(str(lead), url=lead.get_absolute_url()), crumb(_("Convert"))],
    }
    return render(request, "sales/lead_convert.html", context)


@require_POST
@role_required(*SALES_WRITERS, record=Lead)
def lead_task_add(request, pk: int):
    lead = get_editable_or_403(Lead, request.user, pk=pk)
    form = TaskForm(request.POST)
    if form.is_valid():
        task_create(
            record=lead, subject=form.cleaned_data["subject"], due_at=form.cleaned_data["due_at"],
            assignee=lead.owner or request.user, created_by=request.user,
        )
        messages.success(request, _("Task added."))
    else:
        messages.error(request, _("A task needs a subject and a due date."))
    return redirect(lead)


@role_required(*LEAD_IMPORT_ROLES)
def lead_import(request):
    """The old address of the lead import: leads are imported on the pages of the contacts import."""
    return HttpResponseRedirect(f"{reverse('contacts:import_upload')}?target={ImportJob.Target.LEADS}")


@require_POST
@role_required(Role.ADMIN, Role.SALES_MANAGER)
def reassign(request):
    """Bulk reassignment by managers: the checked leads or deals of the list go to a new owner."""
    form = ReassignForm(request.POST)
    kind = request.POST.get("kind")
    ids = [int(v) for v in request.POST.getlist("ids") if v.isdigit() and len(v) < 18][:1000]
    if not form.is_valid() or not ids:
        messages.error(request, _("Choose the records and the new owner."))
    else:
        new_owner = form.cleaned_data["new_owner"]
        if kind == "deal":
            count = services.deals_reassign(deal_ids=ids, new_owner=new_owner, user=request.user)
        else:
            count = services.leads_reassign(lead_ids=ids, new_owner=new_owner, user=request.user)
        messages.success(request, _("%(n)s records reassigned.") % {"n": count})
    return redirect("sales:deal_list" if kind == "deal" else "sales:lead_list")
