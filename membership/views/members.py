"""Member pages: the list, a member's page with its status history, and the forms that join,
admit, change the type of, resign and end a membership (each calls one service)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import DetailView

from crm.access import RoleRequiredMixin, get_editable_or_403, role_required
from crm.breadcrumbs import BreadcrumbMixin, crumb
from crm.forms import parse_id
from crm.lists import FilteredListView
from crm.roles import MEMBERSHIP_ROLES
from crm.views import RecordHistoryView
from membership import forms, services
from membership.filters import MemberFilter
from membership.models import Member


def _trail():
    return [crumb(gettext_lazy("Members"), "membership:member_list")]


class MemberListView(FilteredListView):
    model = Member
    allowed_roles = MEMBERSHIP_ROLES
    filterset_class = MemberFilter
    template_name = "membership/member_list.html"
    table_template = "membership/partials/member_table.html"
    sort_fields = {"number": ("member_number",), "start": ("start_date",), "status": ("status", "member_number")}
    default_sort = "number"

    def base_queryset(self):
        return super().base_queryset().select_related("person", "organization", "membership_type")

    def get_breadcrumbs(self):
        return [crumb(_("Members"))]


class MemberDetailView(RoleRequiredMixin, BreadcrumbMixin, DetailView):
    model = Member
    allowed_roles = MEMBERSHIP_ROLES
    template_name = "membership/member_detail.html"

    def get_queryset(self):
        return Member.objects.visible_to(self.request.user).select_related(
            "person", "organization", "membership_type", "household_of__person", "created_by"
        )

    def get_breadcrumbs(self):
        return [*_trail(), crumb(str(self.object))]

    def get_context_data(self, **kwargs):
        member = self.object
        return {
            **super().get_context_data(**kwargs),
            "events": list(member.events.select_related("by")[:50]),
            "household": list(member.household_members.select_related("person").order_by("member_number")),
            "today": timezone.localdate(),
        }


member_history = RecordHistoryView.as_view(model=Member, trail=_trail)


def _form_page(request, form, *, title, trail, cancel_url, submit_label, before=""):
    return render(request, "membership/member_form.html", {
        "form": form, "title": title, "breadcrumbs": [*trail, crumb(title)], "cancel_url": cancel_url,
        "submit_label": submit_label, "before": before,
    })


@role_required(*MEMBERSHIP_ROLES)
def member_join(request):
    if request.method == "POST":
        form = forms.MemberJoinForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                member = services.member_join(
                    person=data["person"], organization=data["organization"], membership_type=data["membership_type"],
                    start_date=data["start_date"], household_of=data["household_number"], admit=data["admit"], by=request.user,
                )
            except ValidationError as error:
                forms.apply_service_error(form, error)
            else:
                if member.member_number:
                    messages.success(request, _("%(name)s is member %(number)s.") % {"name": member.subject, "number": member.member_number})
                else:
                    messages.success(request, _("%(name)s applied for membership.") % {"name": member.subject})
                return redirect(member)
    else:
        initial = {}
        for field in ("person", "organization"):
            if (pk := parse_id(request.GET.get(field, ""))) is not None:
                initial[field] = pk
        form = forms.MemberJoinForm(initial=initial, user=request.user)
    return _form_page(request, form, title=_("New member"), trail=_trail(), cancel_url=reverse("membership:member_list"),
                      submit_label=_("Save member"))


def _member_action(request, pk, form_class, *, title, submit_label, act, done, form_kwargs=None):
    """A form on one member that calls one service; its errors show at their fields."""
    member = get_editable_or_403(Member, request.user, pk=pk)
    kwargs = form_kwargs(member) if form_kwargs else {}
    if request.method == "POST":
        form = form_class(request.POST, **kwargs)
        if form.is_valid():
            try:
                member = act(member, form.cleaned_data)
            except ValidationError as error:
                forms.apply_service_error(form, error)
            else:
                messages.success(request, done(member))
                return redirect(member)
    else:
        form = form_class(initial={"start_date": timezone.localdate(), "received_on": timezone.localdate(),
                                   "end_date": timezone.localdate()}, **kwargs)
    trail = [*_trail(), crumb(str(member), url=member.get_absolute_url())]
    return _form_page(request, form, title=title, trail=trail, cancel_url=member.get_absolute_url(), submit_label=submit_label)


@role_required(*MEMBERSHIP_ROLES, record=Member)
def member_admit(request, pk: int):
    return _member_action(
        request, pk, forms.MemberAdmitForm, title=_("Admit applicant"), submit_label=_("Admit"),
        act=lambda m, d: services.member_admit(member=m, start_date=d["start_date"], by=request.user),
        done=lambda m: _("Admitted as member %(number)s.") % {"number": m.member_number},
    )


@role_required(*MEMBERSHIP_ROLES, record=Member)
def member_change_type(request, pk: int):
    return _member_action(
        request, pk, forms.MemberChangeTypeForm, title=_("Change membership type"), submit_label=_("Change type"),
        act=lambda m, d: services.member_change_type(member=m, membership_type=d["membership_type"], by=request.user),
        done=lambda m: _("The membership type is now “%(type)s”.") % {"type": m.membership_type.name},
        form_kwargs=lambda m: {"user": request.user, "member": m},
    )


@role_required(*MEMBERSHIP_ROLES, record=Member)
def member_resign(request, pk: int):
    return _member_action(
        request, pk, forms.MemberResignForm, title=_("Record resignation"), submit_label=_("Record resignation"),
        act=lambda m, d: services.member_resign(member=m, received_on=d["received_on"], by=request.user),
        done=lambda m: _("Resignation recorded: member until %(date)s.") % {"date": m.end_date.strftime("%d.%m.%Y")},
    )


@role_required(*MEMBERSHIP_ROLES, record=Member)
def member_end(request, pk: int):
    return _member_action(
        request, pk, forms.MemberEndForm, title=_("End membership"), submit_label=_("End membership"),
        act=lambda m, d: services.member_end(member=m, reason=d["reason"], end_date=d["end_date"], by=request.user),
        done=lambda m: _("The membership ends (%(reason)s).") % {"reason": m.get_end_reason_display()},
    )

