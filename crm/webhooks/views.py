"""The CRM's webhook settings (admins only): endpoints, their secrets, the delivery log."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import webhooks
from crm.access import role_required
from crm.breadcrumbs import crumb
from crm.models import WebhookDelivery, WebhookEndpoint
from crm.roles import Role
from crm.settingspages import settings_crumb
from crm.webhooks import delivery
from crm.webhooks.forms import WebhookEndpointForm

admin_only = role_required(Role.ADMIN)
LOG_ROWS = 100



@admin_only
def webhook_list(request):
    endpoints = WebhookEndpoint.objects.all()
    return render(request, "crm/webhook_list.html", {
        "endpoints": endpoints, "breadcrumbs": [settings_crumb(), crumb(_("Webhooks"))],
    })


def _detail(request, endpoint, *, secret=None):
    deliveries = (
        WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")
        .prefetch_related("attempt_log").order_by("-pk")[:LOG_ROWS]
    )
    return render(request, "crm/webhook_detail.html", {
        "endpoint": endpoint, "secret": secret, "deliveries": deliveries,
        "event_labels": [webhooks.EVENT_TYPES.get(t, t) for t in endpoint.event_types],
        "breadcrumbs": [settings_crumb(), crumb(_("Webhooks"), "webhook_list"), crumb(str(endpoint))],
    })


@admin_only
def webhook_create(request):
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint, secret = webhooks.endpoint_save(form.save(commit=False), user=request.user)
        messages.success(request, _("The endpoint is subscribed. Copy the secret now: it is shown only once."))
        return _detail(request, endpoint, secret=secret)
    return render(request, "crm/webhook_form.html", {
        "form": form, "breadcrumbs": [settings_crumb(), crumb(_("Webhooks"), "webhook_list"), crumb(_("New endpoint"))],
    })


@admin_only
def webhook_edit(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    form = WebhookEndpointForm(request.POST or None, instance=endpoint)
    if request.method == "POST" and form.is_valid():
        webhooks.endpoint_save(form.save(commit=False))
        messages.success(request, _("The endpoint is saved."))
        return redirect(endpoint)
    return render(request, "crm/webhook_form.html", {
        "form": form, "endpoint": endpoint,
        "breadcrumbs": [settings_crumb(), crumb(_("Webhooks"), "webhook_list"), crumb(str(endpoint), "webhook_detail", pk), crumb(_("Edit"))],
    })


@admin_only
def webhook_detail(request, pk: int):
    return _detail(request, get_object_or_404(WebhookEndpoint, pk=pk))


@require_POST
@admin_only
def webhook_rotate(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    secret = webhooks.endpoint_rotate(endpoint)
    messages.success(request, _(
        "New secret made. For 24 hours every event is signed with the old and the new secret, so the "
        "receiver can switch without missing one. Copy it now: it is shown only once."))
    return _detail(request, endpoint, secret=secret)


@require_POST
@admin_only
def webhook_ping(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    with transaction.atomic():
        delivery.ping(endpoint)
    messages.info(request, _("A test event is on its way; its result appears in the log below."))
    return redirect(endpoint)


@require_POST
@admin_only
def webhook_enable(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    webhooks.endpoint_enable(endpoint)
    messages.success(request, _("The endpoint is active again; waiting events go out now."))
    return redirect(endpoint)


@require_POST
@admin_only
def webhook_resend(request, pk: int):
    sent = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=pk)
    with transaction.atomic():
        delivery.resend(sent)
    messages.success(request, _("The event is queued again, with the same webhook-id."))
    return redirect(sent.endpoint)
