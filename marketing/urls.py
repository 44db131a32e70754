from django.urls import path

from marketing.views import campaigns, public, segments, templates, webforms

app_name = "marketing"

urlpatterns = [
    path("campaigns/", campaigns.CampaignListView.as_view(), name="campaign_list"),
    path("campaigns/new/", campaigns.CampaignCreateView.as_view(), name="campaign_create"),
    path("campaigns/results/", campaigns.campaign_results, name="campaign_results"),
    path("campaigns/<int:pk>/", campaigns.CampaignDetailView.as_view(), name="campaign_detail"),
    path("campaigns/<int:pk>/edit/", campaigns.CampaignUpdateView.as_view(), name="campaign_update"),
    path("campaigns/<int:pk>/history/", campaigns.campaign_history, name="campaign_history"),
    path("campaigns/<int:pk>/send/", campaigns.campaign_send, name="campaign_send"),
    path("campaigns/<int:pk>/progress/", campaigns.campaign_progress, name="campaign_progress"),
    path("campaigns/<int:pk>/members/refresh/", campaigns.campaign_members_refresh, name="campaign_members_refresh"),
    path("campaigns/<int:pk>/calls/", campaigns.campaign_calls, name="campaign_calls"),
    path("campaigns/<int:pk>/direct-mail.csv", campaigns.campaign_export, name="campaign_export"),
    path("members/<int:pk>/call/", campaigns.campaign_call_log, name="campaign_call_log"),
    path("segments/", segments.SegmentListView.as_view(), name="segment_list"),
    path("segments/new/", segments.segment_create, name="segment_create"),
    path("segments/preview/", segments.segment_preview, name="segment_preview"),
    path("segments/<int:pk>/", segments.SegmentDetailView.as_view(), name="segment_detail"),
    path("segments/<int:pk>/edit/", segments.segment_update, name="segment_update"),
    path("segments/<int:pk>/history/", segments.segment_history, name="segment_history"),
    path("templates/", templates.TemplateListView.as_view(), name="template_list"),
    path("templates/new/", templates.TemplateCreateView.as_view(), name="template_create"),
    path("templates/<int:pk>/", templates.TemplateDetailView.as_view(), name="template_detail"),
    path("templates/<int:pk>/edit/", templates.TemplateUpdateView.as_view(), name="template_update"),
    path("templates/<int:pk>/preview/", templates.template_preview, name="template_preview"),
    path("templates/<int:pk>/test/", templates.template_test_send, name="template_test_send"),
    path("forms/", webforms.WebFormListView.as_view(), name="webform_list"),
    path("forms/new/", webforms.WebFormCreateView.as_view(), name="webform_create"),
    path("forms/<int:pk>/", webforms.WebFormDetailView.as_view(), name="webform_detail"),
    path("forms/<int:pk>/edit/", webforms.WebFormUpdateView.as_view(), name="webform_update"),
    # Public: no login.
    path("f/<slug:key>/", public.form_public, name="form_public"),
    path("c/<str:token>/", public.consent_confirm, name="consent_confirm"),
    path("u/<str:token>/", public.unsubscribe, name="unsubscribe"),
    path("p/<str:token>/", public.preferences, name="preferences"),
    path("t/o/<str:token>/", public.track_open, name="track_open"),
    path("t/c/<str:token>/", public.track_click, name="track_click"),
]
