from django.urls import path

from appointments.views import calendar_sync, public, staff

app_name = "appointments"

urlpatterns = [
    path("", staff.AppointmentListView.as_view(), name="appointment_list"),
    path("<int:pk>/", staff.AppointmentDetailView.as_view(), name="appointment_detail"),
    path("<int:pk>/history/", staff.appointment_history, name="appointment_history"),
    path("<int:pk>/outcome/", staff.appointment_outcome, name="appointment_outcome"),
    path("<int:pk>/cancel/", staff.appointment_cancel, name="appointment_cancel"),
    path("<int:pk>/calendar-entry/", calendar_sync.calendar_entry_resolve, name="calendar_entry_resolve"),
    path("calendar/", staff.calendar, name="calendar"),
    path("calendar/sync/", calendar_sync.calendar_connection, name="calendar_connection"),
    path("calendar/sync/read/", calendar_sync.calendar_connection_sync, name="calendar_connection_sync"),
    path("calendar/sync/pause/", calendar_sync.calendar_connection_pause, name="calendar_connection_pause"),
    path("calendar/sync/disconnect/", calendar_sync.calendar_connection_disconnect, name="calendar_connection_disconnect"),
    path("calendar/team/", staff.team_calendar, name="team_calendar"),
    path("types/", staff.AppointmentTypeListView.as_view(), name="type_list"),
    path("types/new/", staff.AppointmentTypeCreateView.as_view(), name="type_create"),
    path("types/<int:pk>/", staff.AppointmentTypeUpdateView.as_view(), name="type_update"),
    path("availability/", staff.availability_edit, name="availability_edit"),
    path("availability/exceptions/<int:pk>/delete/", staff.exception_delete, name="exception_delete"),
    path("offer/", staff.offer_create, name="offer_create"),
    path("new/", staff.appointment_enter, name="appointment_enter"),
    path("feed/<str:token>.ics", staff.calendar_feed, name="calendar_feed"),
    # The customer's pages (no login; signed links).
    path("book/<str:token>/", public.public_book, name="public_book"),
    path("pick/<str:token>/", public.public_offer_slot, name="public_offer_slot"),
    path("booked/<str:token>/", public.public_done, name="public_done"),
    path("manage/<str:token>/", public.public_manage, name="public_manage"),
]
