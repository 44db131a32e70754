"""/api/v1/: every app's API room (`<app>/api/urls.py`), plus the change feed."""

from django.urls import include, path

from crm.api import views

app_name = "api"

urlpatterns = [
    path("changes/", views.ChangeFeedView.as_view(), name="change-list"),
    path("", include("contacts.api.urls")),
    path("", include("sales.api.urls")),
    path("", include("service.api.urls")),
    path("", include("marketing.api.urls")),
    path("", include("appointments.api.urls")),
]
