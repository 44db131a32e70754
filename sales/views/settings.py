"""Settings pages of sales (listed on /settings/): pipelines and their stages, territories with
their rules, quotas per rep and period. Sales managers and admins; the rules are in sales.services."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access import role_required
from crm.breadcrumbs import crumb
from crm.forms import parse_id
from crm.history import history_page
from crm.roles import Role
from crm.settingspages import settings_crumb
from sales import services
from sales.forms import (
    PipelineForm,
    QuotaGridForm,
    QuotaPeriodForm,
    StageDeleteForm,
    StageForm,
    TerritoryDeleteForm,
    TerritoryForm,
    TerritoryRuleFormSet,
)
from sales.models import Pipeline, Quota, Stage, Territory

SETUP_ROLES = (Role.ADMIN, Role.SALES_MANAGER)
setup_required = role_required(*SETUP_ROLES)
RECENT_CHANGES = 10


def _refusal_to_form(form, error: ValidationError) -> None:
    """A service's refusal shown at the field it names, or above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


# --- pipelines and stages -----------------------------------------------------------------------


def _pipelines_trail():
    return [settings_crumb(), crumb(_("Pipelines"), "sales:pipeline_list")]


@setup_required
def pipeline_list(request):
    pipelines = Pipeline.objects.annotate(stage_count=Count("stages", distinct=True), deal_count=Count("deals", distinct=True))
    return render(request, "sales/settings/pipeline_list.html", {
        "pipelines": pipelines, "breadcrumbs": [settings_crumb(), crumb(_("Pipelines"))],
    })


@setup_required
def pipeline_create(request):
    form = PipelineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            pipeline = form.save()
            # A new pipeline starts with the stages every pipeline needs: one open, won and lost.
            for order, (name, probability, kind) in enumerate(
                [(_("New"), 10, "open"), (_("Won"), 100, "won"), (_("Lost"), 0, "lost")]
            ):
                Stage.objects.create(pipeline=pipeline, name=name, order=order, probability=probability,
                                     is_won=kind == "won", is_lost=kind == "lost")
        messages.success(request, _("The pipeline is created with an open, a won and a lost stage; add and rename stages below."))
        return redirect(pipeline.get_settings_url())
    return render(request, "sales/settings/pipeline_form.html", {
        "form": form, "cancel_url": _pipelines_trail()[1].url, "title": _("New pipeline"),
        "breadcrumbs": [*_pipelines_trail(), crumb(_("New pipeline"))],
    }, status=400 if form.errors else 200)


def _pipeline_page(request, pipeline, *, form=None, stage_form=None, status=200):
    stages = list(pipeline.stages.annotate(deal_count=Count("deals")).order_by("order", "pk"))
    return render(request, "sales/settings/pipeline_form.html", {
        "pipeline": pipeline, "form": form or PipelineForm(instance=pipeline),
        "stage_form": stage_form or StageForm(pipeline=pipeline), "stages": stages,
        "history_rows": history_page(pipeline, limit=RECENT_CHANGES).rows,
        "title": _("Pipeline “%(name)s”") % {"name": pipeline.name}, "cancel_url": _pipelines_trail()[1].url,
        "breadcrumbs": [*_pipelines_trail(), crumb(pipeline.name)],
    }, status=status)


@setup_required
def pipeline_update(request, pk: int):
    pipeline = get_object_or_404(Pipeline, pk=pk)
    form = PipelineForm(request.POST or None, instance=pipeline)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("The pipeline is saved."))
        return redirect(pipeline.get_settings_url())
    return _pipeline_page(request, pipeline, form=form, status=400 if form.errors else 200)


@setup_required
def pipeline_delete(request, pk: int):
    pipeline = get_object_or_404(Pipeline.objects.annotate(deal_count=Count("deals")), pk=pk)
    error = None
    if request.method == "POST":
        try:
            services.pipeline_delete(pipeline=pipeline)
        except services.SetupRefused as refusal:
            error = " ".join(refusal.messages)
        else:
            messages.success(request, _("The pipeline “%(name)s” is deleted.") % {"name": pipeline.name})
            return redirect("sales:pipeline_list")
    return render(request, "sales/settings/pipeline_delete.html", {
        "pipeline": pipeline, "error": error,
        "breadcrumbs": [*_pipelines_trail(), crumb(pipeline.name, url=pipeline.get_settings_url()), crumb(_("Delete"))],
    }, status=400 if error else 200)


@require_POST
@setup_required
def stage_create(request, pk: int):
    pipeline = get_object_or_404(Pipeline, pk=pk)
    stage_form = StageForm(request.POST, pipeline=pipeline)
    if stage_form.is_valid():
        stage = stage_form.save()
        messages.success(request, _("The stage “%(name)s” is added at the end.") % {"name": stage.name})
        return redirect(pipeline.get_settings_url() + "#stages")
    return _pipeline_page(request, pipeline, stage_form=stage_form, status=400)


def _stage_trail(stage):
    return [*_pipelines_trail(), crumb(stage.pipeline.name, url=stage.pipeline.get_settings_url()), crumb(stage.name)]


@setup_required
def stage_update(request, pk: int):
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
    form = StageForm(request.POST or None, instance=stage, pipeline=stage.pipeline)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("The stage is saved."))
        return redirect(stage.pipeline.get_settings_url() + "#stages")
    return render(request, "sales/settings/stage_form.html", {
        "form": form, "stage": stage, "title": _("Stage “%(name)s”") % {"name": stage.name},
        "cancel_url": stage.pipeline.get_settings_url(), "breadcrumbs": _stage_trail(stage),
    }, status=400 if form.errors else 200)


@require_POST
@setup_required
def stage_move(request, pk: int):
    """Up or down one place: the buttons beside each stage, for keyboards and without JavaScript."""
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
    services.stage_shift(stage=stage, step=-1 if request.POST.get("direction") == "up" else 1)
    return redirect(stage.pipeline.get_settings_url() + f"#stage-{stage.pk}")


@require_POST
@setup_required
def stage_reorder(request, pk: int):
    """The order after a drag and drop: every stage id of the pipeline, in the new order."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    ids = [parse_id(value) for value in request.POST.getlist("stage")]
    try:
        services.stages_reorder(pipeline=pipeline, stage_ids=[i for i in ids if i is not None])
    except services.SetupRefused as refusal:
        return HttpResponse(" ".join(refusal.messages), status=400)
    return HttpResponse(_("The new order is saved."))


@setup_required
def stage_delete(request, pk: int):
    stage = get_object_or_404(Stage.objects.select_related("pipeline").annotate(deal_count=Count("deals")), pk=pk)
    form = StageDeleteForm(request.POST if request.method == "POST" else None, stage=stage)
    if request.method == "POST" and form.is_valid():
        try:
            moved = services.stage_delete(stage=stage, user=request.user, move_to=form.cleaned_data["move_to"])
        except services.SetupRefused as refusal:
            _refusal_to_form(form, refusal)
        else:
            messages.success(request, _("The stage “%(name)s” is deleted. Deals moved: %(count)d.") % {"name": stage.name, "count": moved})
            return redirect(stage.pipeline.get_settings_url() + "#stages")
    return render(request, "sales/settings/stage_delete.html", {
        "form": form, "stage": stage, "is_last": stage.pipeline.stages.count() <= 1,
        "has_targets": form.fields["move_to"].queryset.exists(), "rule_count": stage.automation_rules.count(),
        "breadcrumbs": [*_stage_trail(stage), crumb(_("Delete"))],
    }, status=400 if form.errors else 200)


# --- territories ------------------------------------------------------------------------------


def _territories_trail():
    return [settings_crumb(), crumb(_("Territories"), "sales:territory_list")]


def _editable_territory(user, pk):
    """404 for no such territory, 403 for another team's."""
    territory = get_object_or_404(Territory.objects.visible_to(user), pk=pk)
    if not Territory.objects.editable_by(user).filter(pk=pk).exists():
        raise PermissionDenied
    return territory


def _territory_form_page(request, territory):
    form = TerritoryForm(request.POST or None, instance=territory, user=request.user)
    rules = TerritoryRuleFormSet(request.POST or None, instance=territory, prefix="rules")
    if request.method == "POST" and form.is_valid() and rules.is_valid():
        with transaction.atomic():
            territory = form.save()
            rules.instance = territory
            rules.save()
        messages.success(request, _("The territory “%(name)s” is saved.") % {"name": territory.name})
        return redirect(territory)
    title = _("Territory “%(name)s”") % {"name": territory.name} if territory.pk else _("New territory")
    return render(request, "sales/settings/territory_form.html", {
        "form": form, "rules": rules, "territory": territory, "title": title,
        "history_rows": history_page(territory, limit=RECENT_CHANGES).rows if territory.pk else [],
        "cancel_url": _territories_trail()[1].url, "breadcrumbs": [*_territories_trail(), crumb(title)],
    }, status=400 if request.method == "POST" else 200)  # not saved: an error in the form or a rule


@setup_required
def territory_create(request):
    return _territory_form_page(request, Territory())


@setup_required
def territory_update(request, pk: int):
    return _territory_form_page(request, _editable_territory(request.user, pk))


@setup_required
def territory_delete(request, pk: int):
    territory = _editable_territory(request.user, pk)
    lead_count, deal_count = territory.leads.count(), territory.deals.count()
    form = TerritoryDeleteForm(request.POST if request.method == "POST" else None, territory=territory, user=request.user)
    if request.method == "POST" and form.is_valid():
        target = form.cleaned_data["move_to"]
        services.territory_delete(territory=territory, user=request.user, move_to=target)
        messages.success(request, _("The territory “%(name)s” is deleted.") % {"name": territory.name})
        return redirect("sales:territory_list")
    return render(request, "sales/settings/territory_delete.html", {
        "form": form, "territory": territory, "lead_count": lead_count, "deal_count": deal_count,
        "breadcrumbs": [*_territories_trail(), crumb(territory.name, "sales:territory_update", territory.pk), crumb(_("Delete"))],
    }, status=400 if request.method == "POST" and form.errors else 200)


# --- quotas -----------------------------------------------------------------------------------


def _period_starts(period: str, today) -> tuple[list, object]:
    """The period starts offered in the picker, a year back to a year ahead, and the current one."""
    months = 3 if period == Quota.Period.QUARTER else 1
    current = today.replace(day=1, month=(today.month - 1) // months * months + 1)
    starts = [current]
    for _step in range(12 // months):
        starts.insert(0, services.previous_period_start(period=period, start=starts[0]))
    for _step in range(12 // months):
        starts.append(services.next_period_start(period=period, start=starts[-1]))
    return starts, current


@setup_required
def quota_grid(request):
    """Quotas of one period, one row per rep the user sets quotas for, with the period before
    beside it; "Copy from the last period" fills the reps that have none yet."""
    today = timezone.localdate()
    period = request.GET.get("period") if request.GET.get("period") in Quota.Period.values else Quota.Period.MONTH
    starts, start = _period_starts(period, today)
    period_valid = True
    if "start" in request.GET:
        period_form = QuotaPeriodForm(request.GET, starts=starts)
        period_valid = period_form.is_valid()
        if period_valid:
            start = period_form.cleaned_data["start"]
    else:
        period_form = QuotaPeriodForm(initial={"period": period, "start": start.isoformat()}, starts=starts)
    reps = list(services.quota_reps(user=request.user))
    before = services.previous_period_start(period=period, start=start)
    quotas = Quota.objects.filter(period=period, period_start__in=[start, before], user__in=reps)
    current = {q.user_id: q.amount for q in quotas if q.period_start == start}
    previous = {q.user_id: q.amount for q in quotas if q.period_start == before}
    form = QuotaGridForm(
        request.POST if request.method == "POST" and request.POST.get("action") == "save" else None,
        reps=reps, initial={f"amount_{rep_id}": amount for rep_id, amount in current.items()},
    )
    status = 200 if period_valid else 400
    if request.method == "POST" and period_valid:
        if request.POST.get("action") == "copy":
            copied = services.quotas_copy_previous(user=request.user, period=period, period_start=start)
            messages.success(request, _("Quotas copied from the last period: %(count)d.") % {"count": copied})
            return redirect(request.get_full_path())
        if form.is_valid():
            try:
                changed = services.quotas_save(user=request.user, period=period, period_start=start, amounts=form.amounts())
            except ValidationError as error:
                _refusal_to_form(form, error)
            else:
                messages.success(request, _("Quotas saved. Changed: %(count)d.") % {"count": changed})
                return redirect(request.get_full_path())
        status = 400
    rows = [(rep, form[f"amount_{rep.pk}"], previous.get(rep.pk)) for rep in reps]
    return render(request, "sales/settings/quota_grid.html", {
        "period_form": period_form, "period_valid": period_valid, "form": form, "rows": rows, "period": period, "start": start, "before": before,
        "missing_with_previous": sum(1 for rep in reps if rep.pk not in current and rep.pk in previous),
        "breadcrumbs": [settings_crumb(), crumb(_("Quotas"))],
    }, status=status)
