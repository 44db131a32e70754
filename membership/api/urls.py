from rest_framework.routers import SimpleRouter

from membership.api import views

router = SimpleRouter()
router.register("members", views.MemberViewSet, basename="member")
router.register("membership-types", views.MembershipTypeViewSet, basename="membership-type")

urlpatterns = router.urls
