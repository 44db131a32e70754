"""/api/v1/: every app's API room (`<app>/api/urls.py`), plus the change feed, users and teams."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from crm.api import directory, views

router = SimpleRouter()
router.register("users", directory.UserViewSet, basename="user")
router.register("teams", directory.TeamViewSet, basename="team")

app_name = "api"

urlpatterns = [
    path("changes/", views.ChangeFeedView.as_view(), name="change-list"),
    path("", include("contacts.api.urls")),
    path("", include("sales.api.urls")),
    path("", include("service.api.urls")),
    path("", include("marketing.api.urls")),
    path("", include("appointments.api.urls")),
    path("", include("membership.api.urls")),
    *router.urls,
]
