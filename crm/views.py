from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from crm import help as crm_help
from crm import search as crm_search
from crm import startpage
from crm.access import role_required
from crm.breadcrumbs import crumb


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
