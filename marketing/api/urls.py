from rest_framework.routers import SimpleRouter

from marketing.api import views

router = SimpleRouter()
router.register("campaigns", views.CampaignViewSet, basename="campaign")
router.register("segments", views.SegmentViewSet, basename="segment")
router.register("consents", views.ConsentViewSet, basename="consent")

urlpatterns = router.urls
