from django.core.paginator import Paginator
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import DetailView

from crm.access import get_visible_or_404
from crm.breadcrumbs import crumb
from crm.lists import FilteredListView, int_param
from marketing.filters import WebFormFilter
from marketing.forms import WebFormForm
from marketing.models import WebForm, can_edit_marketing
from marketing.render import base_url
from marketing.views.common import MarketingCreateView, MarketingUpdateView, ReadMixin


def _trail():
    return [crumb(_("Web forms"), "marketing:webform_list")]


class WebFormListView(ReadMixin, FilteredListView):
    model = WebForm
    filterset_class = WebFormFilter
    template_name = "marketing/webform_list.html"
    table_template = "marketing/partials/webform_table.html"
    sort_fields = {"name": ("name",), "updated": ("updated_at",)}
    default_sort = "name"

    def base_queryset(self):
        return super().base_queryset().select_related("campaign")

    def get_breadcrumbs(self):
        return [crumb(_("Web forms"))]

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "can_edit": can_edit_marketing(self.request.user)}


class WebFormDetailView(ReadMixin, DetailView):
    model = WebForm
    template_name = "marketing/webform_detail.html"

    def get_object(self, queryset=None):
        return get_visible_or_404(WebForm, self.request.user, pk=self.kwargs["pk"])

    def get_breadcrumbs(self):
        return [*_trail(), crumb(self.object.name)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        public_url = base_url() + self.object.get_public_url()
        submissions = self.object.submissions.select_related("person").order_by("-created_at", "-pk")
        context.update(
            can_edit=can_edit_marketing(self.request.user),
            public_url=public_url,
            snippet=self.object.embed_snippet(base_url()),
            page_obj=Paginator(submissions, 25).get_page(int_param(self.request, "page", 1)),
        )
        return context


class WebFormCreateView(MarketingCreateView):
    model = WebForm
    form_class = WebFormForm
    success_message = _("Web form “%(name)s” was created.")

    def form_valid(self, form):
        form.instance.owner = self.request.user
        return super().form_valid(form)

    def get_success_url(self):
        return self.object.get_absolute_url()

    def get_breadcrumbs(self):
        return [*_trail(), crumb(_("New web form"))]

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "title": _("New web form"), "cancel_url": reverse("marketing:webform_list")}


class WebFormUpdateView(MarketingUpdateView):
    model = WebForm
    form_class = WebFormForm
    success_message = _("Web form “%(name)s” was saved.")

    def get_success_url(self):
        return self.object.get_absolute_url()

    def get_breadcrumbs(self):
        return [*_trail(), crumb(self.object.name, url=self.object.get_absolute_url()), crumb(_("Edit"))]

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "title": _("Edit web form %(name)s") % {"name": self.object.name},
            "cancel_url": self.object.get_absolute_url(),
        }
