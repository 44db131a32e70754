from base64 import b32encode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django_otp import login as otp_login

from crm import help as crm_help
from crm import search as crm_search
from crm import startpage, twofactor
from crm.access import role_required
from crm.breadcrumbs import crumb
from crm.forms import TwoFactorConfirmForm
from crm.roles import Role, has_role


@role_required()
def home(request):
    """The start page: what this user's roles need first (tasks today, own records, the team)."""
    return render(request, "crm/home.html", {"widgets": startpage.widgets_for(request.user), "breadcrumbs": []})


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
    pages = crm_help.search_pages(query)
    context = {"pages": pages, "query": query, "breadcrumbs": [crumb(_("Help"))]}
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
