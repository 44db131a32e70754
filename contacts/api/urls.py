from rest_framework.routers import SimpleRouter

from contacts.api import views

router = SimpleRouter()
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("people", views.PersonViewSet, basename="person")
router.register("tags", views.TagViewSet, basename="tag")
router.register("activities", views.ActivityViewSet, basename="activity")
router.register("tasks", views.TaskViewSet, basename="task")
router.register("attachments", views.AttachmentViewSet, basename="attachment")

urlpatterns = router.urls
