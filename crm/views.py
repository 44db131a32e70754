from base64 import b32encode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.generic import DetailView
from django_otp import login as otp_login

from crm import help as crm_help
from crm import history, outbox, settingspages, startpage, twofactor
from crm import search as crm_search
from crm.access import RoleRequiredMixin, role_required
from crm.breadcrumbs import BreadcrumbMixin, crumb
from crm.filters import OutgoingEmailFilter
from crm.forms import TwoFactorConfirmForm
from crm.lists import FilteredListView, int_param
from crm.models import OutgoingEmail
from crm.roles import Role, has_role


@role_required()
def home(request):
    """The start page: what this user's roles need first (tasks today, own records, the team)."""
    return render(request, "crm/home.html", {"widgets": startpage.widgets_for(request.user), "breadcrumbs": []})


@role_required()
def settings_index(request):
    """The settings pages this user's roles may open, by area (crm.settingspages); 403 when none."""
    areas = settingspages.areas_for(request.user)
    if not areas:
        raise PermissionDenied
    return render(request, "crm/settings_index.html", {"areas": areas, "breadcrumbs": [crumb(_("Settings"))]})


@role_required()
def search_suggest(request):
    """The as-you-type dropdown: a few hits per kind."""
    query = crm_search.clean_query(request.GET.get("q"))
    groups = crm_search.search(request.user, query, limit=settings.CRM_SEARCH_DROPDOWN_LIMIT)
    return render(
        request,
        "crm/partials/search_suggest.html",
        {"query": query, "groups": groups, "too_short": not crm_search.is_searchable(query) and bool(query)},
    )


@role_required()
def search_results(request):
    query = crm_search.clean_query(request.GET.get("q"))
    providers = crm_search.providers()
    kind = request.GET.get("kind") or ""
    kinds = [kind] if kind in {p.kind for p in providers} else None
    groups = crm_search.search(request.user, query, kinds=kinds, limit=settings.CRM_SEARCH_PAGE_LIMIT)
    context = {
        "query": query,
        "groups": groups,
        "kind": kind if kinds else "",
        "providers": providers,
        "too_short": bool(query) and not crm_search.is_searchable(query),
        "min_length": crm_search.MIN_QUERY_LENGTH,
        "breadcrumbs": [crumb(_("Search"))],
    }
    return render(request, "crm/search_results.html", context)


def help_panel(request, page_id: str):
    """The help for one page, as the side panel's content. Help is public: it holds no customer data."""
    page = crm_help.get_page(page_id)
    if page is None:
        raise Http404
    return render(request, "crm/partials/help_panel.html", {"page": page})


def help_index(request):
    query = (request.GET.get("q") or "")[:100]
    hits = crm_help.find_pages(query)
    context = {"hits": hits, "query": query, "breadcrumbs": [crumb(_("Help"))]}
    return render(request, "crm/help_index.html", context)


def help_detail(request, page_id: str):
    page = crm_help.get_page(page_id)
    if page is None:
        raise Http404
    context = {
        "page": page,
        "breadcrumbs": [crumb(_("Help"), "help_index"), crumb(page.title)],
    }
    return render(request, "crm/help_detail.html", context)


@login_required
def two_factor(request):
    """Turn two-factor login on (scan, confirm a code, get backup codes once) or off (with a code)."""
    user = request.user
    enabled = twofactor.is_enabled(user)
    form = TwoFactorConfirmForm(request.POST or None)
    backup_codes = None
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"]
        if enabled and request.POST.get("action") == "disable":
            if twofactor.verify(user, token) is None:
                form.add_error("token", _("This code is wrong or expired."))
            else:
                twofactor.disable(user)
                messages.success(request, _("Two-factor login is off."))
                return redirect("two_factor")
        elif not enabled:
            device = twofactor.pending_app_device(user)
            backup_codes = twofactor.confirm(user, device, token)
            if backup_codes is None:
                form.add_error("token", _("This code is wrong or expired."))
            else:
                otp_login(request, device)
                enabled = True
                form = TwoFactorConfirmForm()
    context = {
        "enabled": enabled,
        "form": form,
        "backup_codes": backup_codes,
        "required": settings.CRM_REQUIRE_2FA_FOR_ADMINS and has_role(user, Role.ADMIN),
        "breadcrumbs": [crumb(_("Two-factor login"))],
    }
    if not enabled:
        device = twofactor.pending_app_device(user)
        context.update(qr_svg=twofactor.qr_svg(device), secret=b32encode(device.bin_key).decode())
    return render(request, "registration/two_factor.html", context)


# --- the outbox ------------------------------------------------------------------------------


class OutgoingEmailListView(FilteredListView):
    """Every email the CRM sent or is about to send, failures findable by state (admins only)."""

    model = OutgoingEmail
    allowed_roles = (Role.ADMIN,)
    filterset_class = OutgoingEmailFilter
    template_name = "crm/outgoing_email_list.html"
    table_template = "crm/partials/outgoing_email_table.html"
    sort_fields = {"created": ("created_at",), "state": ("state", "created_at"), "to": ("to",)}
    default_sort = "-created"

    def base_queryset(self):
        return super().base_queryset().select_related("regarding_type").defer("body", "html", "headers")

    def get_breadcrumbs(self):
        return [crumb(gettext_lazy("Outgoing email"))]


class OutgoingEmailDetailView(RoleRequiredMixin, BreadcrumbMixin, DetailView):
    """One email as it is sent: headers, text, attachments, tries and the server's last reply."""

    allowed_roles = (Role.ADMIN,)
    template_name = "crm/outgoing_email_detail.html"
    context_object_name = "email"

    def get_queryset(self):
        return OutgoingEmail.objects.visible_to(self.request.user).select_related("regarding_type")

    def get_breadcrumbs(self):
        return [crumb(_("Outgoing email"), "outgoing_email_list"), crumb(self.object.subject or f"#{self.object.pk}")]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        regarding = self.object.regarding if self.object.regarding_type_id else None
        context.update(attachments=list(self.object.attachments.defer("content")), regarding=regarding)
        return context


def _check_resend_access(user, email: OutgoingEmail) -> None:
    """Admins resend any email; others the email about a record they may change (404 when they
    may not see the record, 403 when they may see but not change it)."""
    if has_role(user, Role.ADMIN):
        return
    model = email.regarding_type.model_class() if email.regarding_type_id else None
    manager = getattr(model, "_default_manager", None)
    if manager is None or not hasattr(manager, "visible_to") or not hasattr(manager, "editable_by"):
        raise Http404
    if not manager.visible_to(user).filter(pk=email.regarding_id).exists():
        raise Http404
    if not manager.editable_by(user).filter(pk=email.regarding_id).exists():
        raise PermissionDenied


@require_POST
@role_required()
def outgoing_email_resend(request, pk: int):
    email = get_object_or_404(OutgoingEmail.objects.select_related("regarding_type"), pk=pk)
    _check_resend_access(request.user, email)
    if outbox.email_resend(email=email):
        messages.success(request, _("The email to %(to)s is queued again.") % {"to": email.to})
    elif outbox.is_reserved_address(email.to) and email.state in (OutgoingEmail.State.FAILED, OutgoingEmail.State.SUPPRESSED):
        messages.error(request, _(
            "%(to)s is an address reserved for examples and tests: the CRM does not send to it "
            "(unless CRM_EMAIL_DELIVER_RESERVED is set).") % {"to": email.to})
    else:
        messages.info(request, _("The email to %(to)s is %(state)s; only failed email is sent again.") % {
            "to": email.to, "state": email.get_state_display()})
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return HttpResponseRedirect(back)
    if has_role(request.user, Role.ADMIN):
        return redirect(email)
    regarding = email.regarding
    return redirect(regarding) if regarding is not None and hasattr(regarding, "get_absolute_url") else redirect("home")


# --- API tokens ------------------------------------------------------------------------------


@role_required()
def api_token_list(request):
    """The user's API tokens (admins: everybody's), and a form for a new one, whose secret is
    shown once, right after it was made."""
    from datetime import datetime, time

    from django.utils import timezone

    from crm.api import tokens as api_tokens
    from crm.forms import ApiTokenForm
    from crm.models import ApiToken

    form = ApiTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        expires_on = form.cleaned_data["expires_on"]
        expires_at = (
            timezone.make_aware(datetime.combine(expires_on, time.min)) if expires_on is not None else None
        )
        new_token = api_tokens.token_create(
            user=request.user, name=form.cleaned_data["name"], scope=form.cleaned_data["scope"], expires_at=expires_at
        )
        form = ApiTokenForm()
    tokens = ApiToken.objects.visible_to(request.user).select_related("user", "revoked_by")[:500]
    context = {
        "form": form,
        "new_token": new_token,
        "tokens": tokens,
        "show_owner": has_role(request.user, Role.ADMIN),
        "breadcrumbs": [crumb(_("API tokens"))],
    }
    return render(request, "crm/api_token_list.html", context)


@require_POST
@role_required()
def api_token_revoke(request, pk: int):
    from crm.models import ApiToken

    token = get_object_or_404(ApiToken.objects.visible_to(request.user), pk=pk)
    token.revoke(by=request.user)
    messages.success(request, _("The token “%(name)s” is revoked; programs using it are refused from now on.") % {"name": token.name})
    return redirect("api_token_list")


class RecordHistoryView(RoleRequiredMixin, BreadcrumbMixin, DetailView):
    """The change history of any record registered with `crm.history.register`: the roles declared
    there, the records `visible_to` the user (404 for others, as on the record's page), newest first
    and paged by offset. An app's urls.py declares it: `RecordHistoryView.as_view(model=Deal, trail=_trail)`."""

    template_name = "crm/record_history.html"
    trail = None  # () -> the crumbs leading to the record's list

    @property
    def allowed_roles(self):
        return history.roles_for(self.model)

    def get_queryset(self):
        return self.model.objects.visible_to(self.request.user)

    def get_breadcrumbs(self):
        return [*(self.trail() if self.trail else []), crumb(str(self.object), url=self.object.get_absolute_url()), crumb(_("History"))]

    def get_context_data(self, **kwargs):
        offset = int_param(self.request, "offset")
        return {**super().get_context_data(**kwargs), "history": history.history_page(self.object, offset=offset, user=self.request.user), "offset": offset}
