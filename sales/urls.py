from django.urls import path

from sales.views import board, deals, forecast, leads, territories

app_name = "sales"

urlpatterns = [
    path("deals/", deals.DealListView.as_view(), name="deal_list"),
    path("deals/new/", deals.DealCreateView.as_view(), name="deal_create"),
    path("deals/autocomplete/", deals.deal_autocomplete, name="deal_autocomplete"),
    path("deals/<int:pk>/", deals.DealDetailView.as_view(), name="deal_detail"),
    path("deals/<int:pk>/edit/", deals.DealUpdateView.as_view(), name="deal_update"),
    path("deals/<int:pk>/history/", deals.deal_history, name="deal_history"),
    path("deals/<int:pk>/won/", deals.deal_mark_won, name="deal_mark_won"),
    path("deals/<int:pk>/lost/", deals.deal_mark_lost, name="deal_mark_lost"),
    path("deals/<int:pk>/next-stage/", deals.deal_next_stage, name="deal_next_stage"),
    path("deals/<int:pk>/reopen/", deals.deal_reopen, name="deal_reopen"),
    path("deals/<int:pk>/move/", board.deal_move, name="deal_move"),
    path("deals/<int:pk>/contacts/", deals.deal_contact_add, name="deal_contact_add"),
    path("deals/<int:pk>/contacts/<int:contact_pk>/remove/", deals.deal_contact_remove, name="deal_contact_remove"),
    path("deals/<int:pk>/tasks/", deals.deal_task_add, name="deal_task_add"),
    path("board/", board.board, name="board"),
    path("forecast/", forecast.forecast, name="forecast"),
    path("leads/", leads.LeadListView.as_view(), name="lead_list"),
    path("leads/new/", leads.LeadCreateView.as_view(), name="lead_create"),
    path("leads/import/", leads.lead_import, name="lead_import"),
    path("leads/<int:pk>/", leads.LeadDetailView.as_view(), name="lead_detail"),
    path("leads/<int:pk>/edit/", leads.LeadUpdateView.as_view(), name="lead_update"),
    path("leads/<int:pk>/history/", leads.lead_history, name="lead_history"),
    path("leads/<int:pk>/convert/", leads.lead_convert, name="lead_convert"),
    path("leads/<int:pk>/tasks/", leads.lead_task_add, name="lead_task_add"),
    path("reassign/", leads.reassign, name="reassign"),
    path("territories/", territories.territory_list, name="territory_list"),
]
