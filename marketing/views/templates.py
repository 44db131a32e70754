from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import DetailView

from contacts.models import Person
from crm.access import get_visible_or_404, role_required
from crm.breadcrumbs import crumb
from crm.lists import FilteredListView
from marketing import render, services
from marketing.filters import EmailTemplateFilter
from marketing.forms import EmailTemplateForm, PreviewPersonForm
from marketing.models import EDIT_ROLES, READ_ROLES, EmailTemplate, can_edit_marketing
from marketing.views.common import MarketingCreateView, MarketingUpdateView, ReadMixin


def _trail():
    return [crumb(_("Email templates"), "marketing:template_list")]


def preview_person(request):
    """The person whose data fills the preview: ?person=<id>, else the first person with an email."""
    person_id = request.GET.get("person", "")
    people = Person.objects.visible_to(request.user)
    if person_id.isdigit():
        person = people.filter(pk=int(person_id)).first()
        if person is not None:
            return person
    return people.exclude(email="").order_by("pk").first()


def preview_message(template, person):
    organization = person.primary_organization()
    return render.build_message(
        render.template_content(template), person=person,
        organization=organization.name if organization else "", to=person.email or "preview@example.invalid",
    )


# The HTML part of an email is a document of its own, shown in a sandboxed frame on the template
# page: emails carry inline styles and remote images, which the CRM's own policy forbids, so the
# preview gets a policy of its own: styles and images, no script, no form, no plugin, framed by
# our pages only, and a sandbox (a unique origin) on top of the iframe's sandbox attribute.
EMAIL_PREVIEW_POLICY = {
    "default-src": [NONE],
    "style-src": [UNSAFE_INLINE],
    "img-src": ["https:", "data:"],
    "font-src": ["https:", "data:"],
    "base-uri": [NONE],
    "form-action": [NONE],
    "frame-ancestors": [SELF],
    "sandbox": True,
}


class TemplateListView(ReadMixin, FilteredListView):
    model = EmailTemplate
    filterset_class = EmailTemplateFilter
    template_name = "marketing/template_list.html"
    table_template = "marketing/partials/template_table.html"
    sort_fields = {"name": ("name",), "language": ("language", "name"), "updated": ("updated_at",)}
    default_sort = "name"

    def get_breadcrumbs(self):
        return [crumb(_("Email templates"))]

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "can_edit": can_edit_marketing(self.request.user)}


class TemplateDetailView(ReadMixin, DetailView):
    """The template with a preview filled with a real person's data."""

    model = EmailTemplate
    template_name = "marketing/template_detail.html"

    def get_object(self, queryset=None):
        return get_visible_or_404(EmailTemplate, self.request.user, pk=self.kwargs["pk"])

    def get_breadcrumbs(self):
        return [*_trail(), crumb(self.object.name)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        person = preview_person(self.request)
        message = preview_message(self.object, person) if person is not None else None
        context.update(
            can_edit=can_edit_marketing(self.request.user),
            person=person,
            preview_form=PreviewPersonForm(initial={"person": person.pk if person else None}, user=self.request.user),
            preview_subject=message.subject if message else "",
            preview_text=message.body if message else "",
            preview_url=f"{reverse('marketing:template_preview', args=[self.object.pk])}?person={person.pk}" if person else "",
            placeholders=render.PLACEHOLDERS,
        )
        return context


@require_GET
@role_required(*READ_ROLES, record=EmailTemplate)
@xframe_options_sameorigin
@csp(EMAIL_PREVIEW_POLICY)
def template_preview(request, pk: int):
    """The HTML part of the template, filled with a person's data, for the frame on its page."""
    template = get_visible_or_404(EmailTemplate, request.user, pk=pk)
    person = preview_person(request)
    if person is None:
        raise Http404
    return HttpResponse(preview_message(template, person).alternatives[0][0])


class TemplateCreateView(MarketingCreateView):
    model = EmailTemplate
    form_class = EmailTemplateForm
    success_message = _("Template “%(name)s” was created.")

    def form_valid(self, form):
        form.instance.created_by = self.request.user
        return super().form_valid(form)

    def get_success_url(self):
        return self.object.get_absolute_url()

    def get_breadcrumbs(self):
        return [*_trail(), crumb(_("New template"))]

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "title": _("New email template"), "cancel_url": reverse("marketing:template_list")}


class TemplateUpdateView(MarketingUpdateView):
    model = EmailTemplate
    form_class = EmailTemplateForm
    success_message = _("Template “%(name)s” was saved.")

    def get_success_url(self):
        return self.object.get_absolute_url()

    def get_breadcrumbs(self):
        return [*_trail(), crumb(self.object.name, url=self.object.get_absolute_url()), crumb(_("Edit"))]

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "title": _("Edit template %(name)s") % {"name": self.object.name},
            "cancel_url": self.object.get_absolute_url(),
        }


@require_POST
@role_required(*EDIT_ROLES, record=EmailTemplate)
def template_test_send(request, pk: int):
    template = get_visible_or_404(EmailTemplate, request.user, pk=pk)
    person = preview_person(request)
    if not request.user.email:
        messages.error(request, _("Your user account has no email address to send the test to."))
    elif person is None:
        messages.error(request, _("There is no person to fill the placeholders with."))
    else:
        services.template_test_send(template=template, user=request.user, person=person)
        messages.success(request, _("A test was sent to %(email)s.") % {"email": request.user.email})
    url = template.get_absolute_url() + (f"?person={person.pk}" if person else "")
    return HttpResponseRedirect(url)
