from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import DetailView

from crm.access import get_editable_or_403, get_visible_or_404, role_required
from crm.breadcrumbs import crumb
from crm.downloads import csv_response
from crm.lists import FilteredListView, int_param
from crm.views import RecordHistoryView
from marketing import services
from marketing.filters import CampaignFilter
from marketing.forms import CallLogForm, CampaignForm
from marketing.models import EDIT_ROLES, READ_ROLES, Campaign, CampaignMember, Consent, can_edit_marketing
from marketing.sending import progress
from marketing.views.common import MarketingCreateView, MarketingUpdateView, ReadMixin

MEMBERS_ON_DETAIL = 25


def _trail():
    return [crumb(_("Campaigns"), "marketing:campaign_list")]


class CampaignListView(ReadMixin, FilteredListView):
    model = Campaign
    filterset_class = CampaignFilter
    template_name = "marketing/campaign_list.html"
    table_template = "marketing/partials/campaign_table.html"
    sort_fields = {
        "name": ("name",),
        "channel": ("channel", "-created_at"),
        "status": ("status", "-created_at"),
        "start": ("start_date",),
        "created": ("created_at",),
    }
    default_sort = "-created"

    def base_queryset(self):
        return super().base_queryset().select_related("owner")

    def get_breadcrumbs(self):
        return [crumb(_("Campaigns"))]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = list(context["object_list"])
        context["results"] = services.campaign_results(page)
        context["can_edit"] = can_edit_marketing(self.request.user)
        return context


class CampaignDetailView(ReadMixin, DetailView):
    model = Campaign
    template_name = "marketing/campaign_detail.html"

    def get_object(self, queryset=None):
        return get_visible_or_404(Campaign, self.request.user, pk=self.kwargs["pk"])

    def get_breadcrumbs(self):
        return [*_trail(), crumb(self.object.name)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaign = self.object
        members = (
            CampaignMember.objects.filter(campaign=campaign)
            .select_related("person")
            .order_by("pk")
        )
        # ?member_status= narrows the member list (the dashboards link to it); unknown values show all.
        member_status = self.request.GET.get("member_status", "")
        if member_status in CampaignMember.Status.values:
            members = members.filter(status=member_status)
        else:
            member_status = ""
        paginator = Paginator(members, MEMBERS_ON_DETAIL)
        page = paginator.get_page(int_param(self.request, "page", 1))
        context.update(
            can_edit=can_edit_marketing(self.request.user),
            segments=list(campaign.segments.all()),
            members_page=page,
            member_status=member_status,
            member_statuses=CampaignMember.Status.choices,
            figures=services.campaign_results([campaign])[campaign.pk],
            progress=progress(campaign.pk) if campaign.is_email else None,
            web_forms=list(campaign.web_forms.all()),
        )
        return context


class CampaignCreateView(MarketingCreateView):
    model = Campaign
    form_class = CampaignForm
    success_message = _("Campaign “%(name)s” was created.")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_success_url(self):
        return self.object.get_absolute_url()

    def get_breadcrumbs(self):
        return [*_trail(), crumb(_("New campaign"))]

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "title": _("New campaign"), "cancel_url": reverse("marketing:campaign_list")}


class CampaignUpdateView(MarketingUpdateView):
    model = Campaign
    form_class = CampaignForm
    success_message = _("Campaign “%(name)s” was saved.")

    def get_success_url(self):
        return self.object.get_absolute_url()

    def get_breadcrumbs(self):
        return [*_trail(), crumb(self.object.name, url=self.object.get_absolute_url()), crumb(_("Edit"))]

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "title": _("Edit campaign %(name)s") % {"name": self.object.name},
            "cancel_url": self.object.get_absolute_url(),
        }


campaign_history = RecordHistoryView.as_view(model=Campaign, trail=_trail)



@require_POST
@role_required(*EDIT_ROLES, record=Campaign)
def campaign_send(request, pk: int):
    campaign = get_editable_or_403(Campaign, request.user, pk=pk)
    try:
        services.campaign_start_send(campaign=campaign, user=request.user)
    except services.SendRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("The send has started: the recipients with email consent are listed, then the messages go out. You can leave this page; the progress is shown here."))
    return redirect(campaign)


@require_POST
@role_required(*EDIT_ROLES, record=Campaign)
def campaign_members_refresh(request, pk: int):
    campaign = get_editable_or_403(Campaign, request.user, pk=pk)
    added = services.campaign_members_refresh(campaign=campaign)
    messages.success(request, _("%(count)s people were added from the target segments.") % {"count": added})
    return redirect(campaign)


@role_required(*READ_ROLES, record=Campaign)
def campaign_progress(request, pk: int):
    """The htmx partial polled while a campaign sends."""
    campaign = get_visible_or_404(Campaign, request.user, pk=pk)
    return render(request, "marketing/partials/campaign_progress.html", {"object": campaign, "progress": progress(campaign.pk)})


@role_required(*READ_ROLES, record=Campaign)
def campaign_calls(request, pk: int):
    """The call list of a phone campaign: members with their numbers and the outcome so far."""
    campaign = get_visible_or_404(Campaign, request.user, pk=pk)
    members = CampaignMember.objects.filter(campaign=campaign).select_related("person", "called_by").order_by(
        "called_at", "pk"
    )
    if request.GET.get("open") == "1":
        members = members.filter(call_outcome__in=["", CampaignMember.CallOutcome.CALL_BACK])
    page = Paginator(members, 25).get_page(int_param(request, "page", 1))
    context = {
        "object": campaign,
        "page_obj": page,
        "form": CallLogForm(),
        "breadcrumbs": [*_trail(), crumb(campaign.name, url=campaign.get_absolute_url()), crumb(_("Call list"))],
    }
    return render(request, "marketing/campaign_calls.html", context)


@require_POST
@role_required(*READ_ROLES, record=CampaignMember)
def campaign_call_log(request, pk: int):
    """Reps log the outcome of a call (sales roles read campaigns but work their call lists)."""
    member = get_object_or_404(CampaignMember.objects.visible_to(request.user).select_related("campaign", "person"), pk=pk)
    form = CallLogForm(request.POST)
    if form.is_valid():
        services.call_log(member=member, outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"], user=request.user)
        messages.success(request, _("Call with %(name)s logged.") % {"name": member.person.full_name})
    else:
        messages.error(request, _("Choose an outcome for the call."))
    return HttpResponseRedirect(reverse("marketing:campaign_calls", args=[member.campaign_id]) + f"?page={int_param(request, 'page', 1)}")


@role_required(*EDIT_ROLES, record=Campaign)
def campaign_export(request, pk: int):
    """Direct-mail CSV for a print service: members with postal consent and an address, nobody else."""
    campaign = get_editable_or_403(Campaign, request.user, pk=pk)
    people = (
        campaign.members.filter(
            person__consents__purpose=Consent.Purpose.NEWSLETTER,
            person__consents__channel=Consent.Channel.MAIL,
            person__consents__status=Consent.Status.GRANTED,
        )
        .exclude(person__street="")
        .select_related("person")
        .order_by("person__postal_code", "pk")
    )
    header = [_("Salutation"), _("Title"), _("First name"), _("Last name"), _("Street"), _("Postal code"), _("City"), _("Country")]
    rows = (
        [p.letter_salutation, p.get_academic_title_display() if p.academic_title else "", p.first_name,
         p.last_name, p.street, p.postal_code, p.city, str(p.country.name) if p.country else ""]
        for p in (member.person for member in people.iterator(chunk_size=2_000))
    )
    return csv_response(f"direct-mail-{campaign.code}", header, rows)


@role_required(*READ_ROLES)
def campaign_results(request):
    """Results per channel: the figures of all campaigns summed by channel, and each campaign."""
    campaigns = list(Campaign.objects.visible_to(request.user).order_by("channel", "-created_at")[:500])
    figures = services.campaign_results(campaigns)
    context = {
        "channels": services.channel_results(campaigns, figures),
        "rows": [(c, figures[c.pk]) for c in campaigns],
        "breadcrumbs": [*_trail(), crumb(_("Results"))],
    }
    return render(request, "marketing/campaign_results.html", context)
