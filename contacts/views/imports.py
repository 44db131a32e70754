"""CSV import pages: upload, map the columns, preview, then follow the run and read its report."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from contacts.forms.imports import ImportMappingForm, ImportUploadForm
from contacts.models import ImportJob
from contacts.services import importing
from crm.access import get_visible_or_404, role_required
from crm.breadcrumbs import crumb
from crm.roles import IMPORT_ROLES, has_role

PAGE_SIZE = 25
REPORT_LINES_SHOWN = 1000


def _job_trail(job: ImportJob, *steps) -> list:
    target = importing.target_for(job.target)
    home = crumb(str(target.list_label), target.list_url)
    name = crumb(job.original_name, url=job.get_absolute_url()) if steps else crumb(job.original_name)
    return [home, crumb(_("Imports"), "contacts:import_list"), name, *steps]


@require_GET
@role_required(*IMPORT_ROLES)
def import_list(request):
    jobs = (
        ImportJob.objects.visible_to(request.user)
        .select_related("created_by")
        .defer("errors", "headers", "mapping")  # the report can hold thousands of lines
        .order_by("-created_at", "-pk")
    )
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page_obj": page,
        "paginator": page.paginator,
        "jobs": page.object_list,
        "breadcrumbs": [crumb(_("Imports"))],
    }
    if request.htmx and request.htmx.target == "list-table":
        return render(request, "contacts/partials/import_table.html", context)
    return render(request, "contacts/import_list.html", context)


@require_http_methods(["GET", "POST"])
@role_required(*IMPORT_ROLES)
def import_upload(request):
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES, user=request.user)
        if form.is_valid():
            job = importing.import_create(
                target=form.cleaned_data["target"], upload=form.cleaned_data["file"], info=form.csv_info, user=request.user
            )
            return redirect("contacts:import_mapping", job.pk)
    else:
        target = request.GET.get("target")
        allowed = [t.name for t in importing.targets_for(request.user)]
        if target == ImportJob.Target.LEADS and target not in allowed:
            raise PermissionDenied
        form = ImportUploadForm(initial={"target": target if target in allowed else ImportJob.Target.PEOPLE}, user=request.user)
    context = {
        "form": form,
        "title": _("Import from a CSV or vCard file"),
        "cancel_url": None,
        "breadcrumbs": [crumb(_("Imports"), "contacts:import_list"), crumb(_("New import"))],
    }
    return render(request, "contacts/import_upload.html", context)


@require_http_methods(["GET", "POST"])
@role_required(*IMPORT_ROLES, record=ImportJob)
def import_mapping(request, pk: int):
    job = _importable_job_or_404(request, pk)
    if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.MAPPED):
        messages.info(request, _("This import has already started; its columns can no longer be changed."))
        return redirect(job)
    samples = importing.read_samples(job)
    form = ImportMappingForm(request.POST or None, job=job, samples=samples)
    if request.method == "POST" and form.is_valid():
        job.mapping = form.mapping
        job.status = ImportJob.Status.MAPPED
        job.save(update_fields=["mapping", "status"])
        return redirect("contacts:import_preview", job.pk)
    earlier = (
        ImportJob.objects.visible_to(request.user)
        .filter(file_sha256=job.file_sha256, target=job.target, status=ImportJob.Status.DONE)
        .exclude(pk=job.pk)
        .order_by("-created_at")
        .first()
    )
    context = {
        "job": job,
        "form": form,
        "earlier": earlier,
        "recognised": importing.recognised_shape(job.headers) if job.file_format == ImportJob.Format.CSV else "",
        "title": _("Which column holds what?"),
        "cancel_url": job.get_absolute_url(),
        "breadcrumbs": _job_trail(job, crumb(_("Columns"))),
    }
    return render(request, "contacts/import_mapping.html", context)


@require_http_methods(["GET", "POST"])
@role_required(*IMPORT_ROLES, record=ImportJob)
def import_preview(request, pk: int):
    job = _importable_job_or_404(request, pk)
    if job.status == ImportJob.Status.UPLOADED:
        return redirect("contacts:import_mapping", job.pk)
    if job.status != ImportJob.Status.MAPPED:
        return redirect(job)
    if request.method == "POST":
        if importing.import_start(job=job):
            messages.success(request, _("The import has started. You can leave this page and come back later."))
        return redirect(job)
    rows = importing.import_preview(job=job)
    context = {
        "job": job,
        "rows": rows,
        "counts": {outcome: sum(1 for r in rows if r.outcome == outcome) for outcome in ("create", "present", "rejected")},
        "breadcrumbs": _job_trail(job, crumb(_("Preview"))),
    }
    return render(request, "contacts/import_preview.html", context)


def _importable_job_or_404(request, pk: int) -> ImportJob:
    """The user's import, if the user may (still) import into its target; else 403."""
    job = get_visible_or_404(ImportJob, request.user, pk=pk)
    if not has_role(request.user, *importing.target_for(job.target).roles):
        raise PermissionDenied
    return job


def _progress_context(job: ImportJob) -> dict:
    target = importing.target_for(job.target)
    return {
        "job": job,
        "records_url": target.list_url,
        "show_records": target.show_label,
        "report_lines": job.errors[:REPORT_LINES_SHOWN] if job.is_finished else [],
        "report_more": max(0, len(job.errors) - REPORT_LINES_SHOWN) if job.is_finished else 0,
    }


@require_GET
@role_required(*IMPORT_ROLES, record=ImportJob)
def import_detail(request, pk: int):
    job = get_object_or_404(ImportJob.objects.visible_to(request.user).select_related("created_by"), pk=pk)
    context = {**_progress_context(job), "breadcrumbs": _job_trail(job)}
    return render(request, "contacts/import_detail.html", context)


@require_GET
@role_required(*IMPORT_ROLES, record=ImportJob)
def import_progress(request, pk: int):
    """The status block of the detail page, polled by htmx every second until the import has finished."""
    job = get_visible_or_404(ImportJob, request.user, pk=pk)
    return render(request, "contacts/partials/import_progress.html", _progress_context(job))
