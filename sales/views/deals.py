from decimal import Decimal

from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import CreateView, DetailView, UpdateView

from contacts.models import Activity
from crm.access import RoleRequiredMixin, get_editable_or_403, role_required
from crm.breadcrumbs import BreadcrumbMixin, crumb
from crm.forms import parse_id
from crm.lists import FilteredListView
from crm.money import format_money
from crm.roles import Role, has_role
from crm.search import clean_query, is_searchable, search_queryset
from crm.views import RecordHistoryView
from crm.widgets import autocomplete_options
from sales import money, services
from sales.automation import task_create
from sales.filters import DealFilter
from sales.forms import DealContactForm, DealForm, LineItemFormSet, LostForm, ReassignForm, TaskForm, WonForm
from sales.models import Deal, DealContact, Stage, StageChange
from sales.views.common import SALES_WRITERS


def _trail():
    return [crumb(_("Deals"), "sales:deal_list")]


class DealListView(FilteredListView):
    model = Deal
    filterset_class = DealFilter
    template_name = "sales/deal_list.html"
    table_template = "sales/partials/deal_table.html"
    sort_fields = {
        "name": ("name",),
        "amount": ("amount",),
        "close": ("expected_close_date",),
        "created": ("created_at",),
        "stage": ("stage__order",),
    }
    default_sort = "-created"

    def base_queryset(self):
        return (
            super()
            .base_queryset()
            .select_related("organization", "owner", "stage", "pipeline")
            .only(
                "id", "name", "amount", "currency", "expected_close_date", "status", "probability", "created_at",
                "last_activity_at", "stage__name", "stage__order", "pipeline__name", "pipeline__stale_after_days",
                "organization__name", "owner__id", "owner__first_name", "owner__last_name", "owner__username",
            )
        )

    def get_breadcrumbs(self):
        return [crumb(_("Deals"))]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        for deal in context["object_list"]:
            deal.stale = deal.is_stale(now)
        context.update(can_reassign=has_role(self.request.user, Role.ADMIN, Role.SALES_MANAGER), reassign_form=ReassignForm())
        return context


class DealDetailView(RoleRequiredMixin, BreadcrumbMixin, DetailView):
    model = Deal
    template_name = "sales/deal_detail.html"

    def get_object(self, queryset=None):
        queryset = Deal.objects.select_related("organization", "owner", "stage", "pipeline", "territory", "lead").annotate(
            rate_used=money.rate()
        )
        return get_object_or_404(queryset.visible_to(self.request.user), pk=self.kwargs["pk"])

    def get_breadcrumbs(self):
        return [*_trail(), crumb(self.object.name)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        deal = self.object
        changes = list(
            StageChange.objects.filter(deal=deal).select_related("to_stage", "changed_by").order_by("changed_at", "pk")
        )
        tasks = list(
            Activity.objects.filter(regarding_type=ContentType.objects.get_for_model(Deal), regarding_id=deal.pk)
            .select_related("assignee")
            .order_by("done", "due_at")[:50]
        )
        # The rate as written in the reader's language, without trailing zeros ("1,2" / "1.2").
        rate_label = formats.number_format(Decimal(deal.rate_used).normalize()) if deal.rate_used is not None else ""
        context.update(
            rate_label=rate_label,
            can_edit=deal.is_editable_by(self.request.user),
            line_items=list(deal.line_items.select_related("product")),
            deal_contacts=list(deal.deal_contacts.select_related("person").order_by("person__last_name")),
            stage_changes=changes,
            tasks=tasks,
            lost_form=LostForm(),
            won_form=WonForm(),
            contact_form=DealContactForm(deal=deal, user=self.request.user),
            task_form=TaskForm(),
            stale=deal.is_stale(),
            next_stage=deal.next_stage(),
        )
        return context


class DealFormMixin:
    model = Deal
    form_class = DealForm
    template_name = "sales/deal_form.html"

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault(
            "formset", LineItemFormSet(instance=getattr(self, "object", None) or Deal(), prefix="rows")
        )
        return context

    def form_invalid(self, form, formset=None):
        formset = formset or LineItemFormSet(self.request.POST, instance=form.instance, prefix="rows")
        formset.is_valid()
        messages.error(self.request, _("Please correct the errors below."))
        return self.render_to_response(self.get_context_data(form=form, formset=formset))

    def save(self, form, formset):
        raise NotImplementedError

    def form_valid(self, form):
        formset = LineItemFormSet(self.request.POST, instance=form.instance, prefix="rows")
        if not formset.is_valid():
            return self.form_invalid(form, formset)
        try:
            with transaction.atomic():
                self.save(form, formset)
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form, formset)
        return HttpResponseRedirect(self.object.get_absolute_url())


def _save_line_items(request, deal, formset):
    formset.instance = deal
    formset.save()
    changed = deal.amount_from_line_items()
    if changed is not None:
        old, new = changed
        messages.info(
            request,
            _("The amount is now %(new)s, the total of the line items (it was %(old)s).")
            % {"new": format_money(new, deal.currency), "old": format_money(old, deal.currency)},
        )


class DealCreateView(RoleRequiredMixin, BreadcrumbMixin, DealFormMixin, CreateView):
    allowed_roles = SALES_WRITERS

    def get_initial(self):
        initial = super().get_initial()
        organization = self.request.GET.get("organization", "")
        if organization.isdigit():
            initial["organization"] = organization
        return initial

    def get_breadcrumbs(self):
        return [*_trail(), crumb(_("New deal"))]

    def save(self, form, formset):
        deal = form.save(commit=False)
        now = timezone.now()
        deal.stage_entered_at = deal.last_activity_at = now
        if deal.owner is None:
            deal.owner = self.request.user
        deal.save()
        self.object = deal
        services.deal_record_created(deal=deal, user=self.request.user)
        _save_line_items(self.request, deal, formset)
        messages.success(self.request, _("Deal “%(name)s” was created.") % {"name": deal.name})


class DealUpdateView(RoleRequiredMixin, BreadcrumbMixin, DealFormMixin, UpdateView):
    allowed_roles = SALES_WRITERS

    def get_object(self, queryset=None):
        return get_editable_or_403(Deal, self.request.user, pk=self.kwargs["pk"])

    def get_breadcrumbs(self):
        return [*_trail(), crumb(self.object.name, url=self.object.get_absolute_url()), crumb(_("Edit"))]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["version"] = self.request.POST.get("version") or self.object.updated_at.isoformat()
        return context

    def form_valid(self, form):
        current = Deal.objects.filter(pk=self.object.pk).values_list("updated_at", flat=True).first()
        if current is not None and self.request.POST.get("version") != current.isoformat():
            form.add_error(None, _("Someone else saved this deal after you opened it. Reload it and apply your changes again."))
            return self.form_invalid(form)
        return super().form_valid(form)

    def save(self, form, formset):
        new_stage = form.cleaned_data.get("stage")
        original_stage_id = Deal.objects.filter(pk=self.object.pk).values_list("stage_id", flat=True).get()
        deal = form.save(commit=False)
        if new_stage is not None and new_stage.pk != original_stage_id:
            deal.stage_id = original_stage_id
            deal.pipeline_id = Deal.objects.filter(pk=deal.pk).values_list("pipeline_id", flat=True).get()
            if new_stage.pipeline_id != deal.pipeline_id:
                raise ValidationError(_("A deal stays in its pipeline; choose a stage of “%(pipeline)s”.") % {"pipeline": deal.pipeline})
        deal.last_activity_at = timezone.now()
        deal.save()
        self.object = deal
        _save_line_items(self.request, deal, formset)
        if new_stage is not None and new_stage.pk != original_stage_id:
            self.object = services.deal_move(deal=deal, stage=new_stage, user=self.request.user)
        messages.success(self.request, _("Deal “%(name)s” was saved.") % {"name": deal.name})


def _editable_deal(request, pk):
    return get_editable_or_403(Deal, request.user, pk=pk)


@require_POST
@role_required(*SALES_WRITERS, record=Deal)
def deal_mark_won(request, pk: int):
    deal = _editable_deal(request, pk)
    form = WonForm(request.POST)
    if form.is_valid():
        try:
            services.deal_mark_won(deal=deal, user=request.user, note=form.cleaned_data["note"])
            messages.success(request, _("Deal marked as won. Congratulations!"))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return redirect(deal)


@require_POST
@role_required(*SALES_WRITERS, record=Deal)
def deal_mark_lost(request, pk: int):
    deal = _editable_deal(request, pk)
    form = LostForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the reason the deal was lost."))
        return redirect(deal)
    try:
        services.deal_mark_lost(
            deal=deal, user=request.user, reason=form.cleaned_data["lost_reason"], note=form.cleaned_data["note"]
        )
        messages.success(request, _("Deal marked as lost."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(deal)


@require_POST
@role_required(*SALES_WRITERS, record=Deal)
def deal_next_stage(request, pk: int):
    """The deal page's "next stage" button: the board's move (services.deal_move, same rules) to the
    stage the button named, so a second click on an old page does not move the deal twice."""
    deal = _editable_deal(request, pk)
    stage_id = parse_id(request.POST.get("stage", ""))
    stage = Stage.objects.filter(pk=stage_id).first() if stage_id is not None else None
    if stage is None:
        messages.error(request, _("Unknown stage."))
        return redirect(deal)
    try:
        services.deal_move(deal=deal, stage=stage, user=request.user)
        messages.success(request, _("“%(deal)s” moved to %(stage)s.") % {"deal": deal.name, "stage": stage.name})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(deal)


@require_POST
@role_required(*SALES_WRITERS, record=Deal)
def deal_reopen(request, pk: int):
    deal = _editable_deal(request, pk)
    try:
        services.deal_reopen(deal=deal, user=request.user)
        messages.success(request, _("Deal reopened."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(deal)


@require_POST
@role_required(*SALES_WRITERS, record=Deal)
def deal_contact_add(request, pk: int):
    deal = _editable_deal(request, pk)
    form = DealContactForm(request.POST, deal=deal, user=request.user)
    if form.is_valid():
        contact = form.save(commit=False)
        contact.deal = deal
        contact.save()
        messages.success(request, _("Contact person added."))
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect(deal)


@require_POST
@role_required(*SALES_WRITERS, record=Deal)
def deal_contact_remove(request, pk: int, contact_pk: int):
    deal = _editable_deal(request, pk)
    DealContact.objects.filter(deal=deal, pk=contact_pk).delete()
    messages.success(request, _("Contact person removed."))
    return redirect(deal)


@require_POST
@role_required(*SALES_WRITERS, record=Deal)
def deal_task_add(request, pk: int):
    deal = _editable_deal(request, pk)
    form = TaskForm(request.POST)
    if form.is_valid():
        task_create(
            record=deal,
            subject=form.cleaned_data["subject"],
            due_at=form.cleaned_data["due_at"],
            assignee=deal.owner or request.user,
            created_by=request.user,
            organization=deal.organization,
        )
        Deal.objects.filter(pk=deal.pk).update(last_activity_at=timezone.now())
        messages.success(request, _("Task added."))
    else:
        messages.error(request, _("A task needs a subject and a due date."))
    return redirect(deal)


@role_required()
def deal_autocomplete(request):
    """Suggestions for deal fields (a ticket's related deal): name, then organization and amount;
    only deals the user may see."""
    query = clean_query(request.GET.get(f"{request.GET.get('field', '')}__text") or request.GET.get("q"))
    options = []
    if is_searchable(query):
        deals = Deal.objects.visible_to(request.user).select_related("organization").only(
            "id", "name", "amount", "currency", "search_key", "organization__name"
        )
        found = search_queryset(deals, query, 8)
        options = autocomplete_options(found, detail=lambda d: " · ".join(
            x for x in [d.organization.name if d.organization else "", format_money(d.amount, d.currency)] if x
        ))
    return render(request, "includes/autocomplete_options.html", {"options": options, "query": query})


deal_history = RecordHistoryView.as_view(model=Deal, trail=_trail)
