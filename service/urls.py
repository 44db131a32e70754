from django.urls import path

from service import views

app_name = "service"

urlpatterns = [
    path("tickets/", views.TicketListView.as_view(), name="ticket_list"),
    path("tickets/new/", views.ticket_create, name="ticket_create"),
    path("tickets/bulk/", views.ticket_bulk, name="ticket_bulk"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<int:pk>/edit/", views.ticket_update, name="ticket_update"),
    path("tickets/<int:pk>/reply/", views.ticket_reply, name="ticket_reply"),
    path("tickets/<int:pk>/merge/", views.ticket_merge, name="ticket_merge"),
    path("tickets/<int:pk>/history/", views.ticket_history, name="ticket_history"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment_download"),
    path("reports/", views.service_report, name="service_report"),
    path("inbound/", views.inbound_list, name="inbound_list"),
    path("survey/<str:token>/", views.survey_answer, name="survey_answer"),
    path("portal/", views.portal_ticket_list, name="portal_ticket_list"),
    path("portal/login/", views.portal_login, name="portal_login"),
    path("portal/logout/", views.portal_logout, name="portal_logout"),
    path("portal/enter/<str:token>/", views.portal_enter, name="portal_enter"),
    path("portal/new/", views.portal_ticket_create, name="portal_ticket_create"),
    path("portal/<int:pk>/", views.portal_ticket_detail, name="portal_ticket_detail"),
]
