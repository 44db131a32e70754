"""List pages: a FilterSet, a sort whitelist, capped counting, and an htmx table partial.

The full page includes the same table partial that an htmx request gets alone, so
filtering, sorting and paging never reload the page and the URL keeps the state.
"""

from django.conf import settings
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.views.generic import ListView

from crm.access import RoleRequiredMixin
from crm.breadcrumbs import BreadcrumbMixin


class CappedPaginator(Paginator):
    """Counts at most CRM_COUNT_CAP + 1 rows: COUNT(*) over a million rows is too slow for a list."""

    cap = settings.CRM_COUNT_CAP

    @cached_property
    def count(self):
        # Without the ORDER BY the database can count from any index that fits the filter.
        return self.object_list.order_by()[: self.cap + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > self.cap


class FilteredListView(RoleRequiredMixin, BreadcrumbMixin, ListView):
    filterset_class = None
    table_template: str = ""
    # Map of the public sort keys to ORM orderings; the key with "-" prefix sorts descending.
    sort_fields: dict[str, tuple[str, ...]] = {}
    default_sort: str = ""
    paginate_by = settings.CRM_LIST_PAGE_SIZE
    paginator_class = CappedPaginator

    def base_queryset(self):
        return self.model.objects.visible_to(self.request.user)

    def current_sort(self) -> str:
        requested = self.request.GET.get("sort", "")
        return requested if requested.lstrip("-") in self.sort_fields else self.default_sort

    def get_queryset(self):
        self.filterset = self.filterset_class(self.request.GET or None, queryset=self.base_queryset(), request=self.request)
        qs = self.filterset.qs
        sort = self.current_sort()
        if sort:
            descending = sort.startswith("-")
            fields = self.sort_fields[sort.lstrip("-")]
            qs = qs.order_by(*[("-" if descending else "") + f for f in fields], ("-pk" if descending else "pk"))
        return qs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(filterset=self.filterset, sort=self.current_sort(), table_template=self.table_template)
        return context

    def get_template_names(self):
        if getattr(self.request, "htmx", False) and self.request.htmx.target == "list-table":
            return [self.table_template]
        return super().get_template_names()


def int_param(request, name: str, default: int = 0, maximum: int = 1_000_000) -> int:
    """A non-negative integer from the query string; anything else is the default."""
    raw = request.GET.get(name, "")
    return min(int(raw), maximum) if raw.isdigit() else default
