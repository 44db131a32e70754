from rest_framework.routers import SimpleRouter

from appointments.api import views

router = SimpleRouter()
router.register("appointments", views.AppointmentViewSet, basename="appointment")
router.register("appointment-types", views.AppointmentTypeViewSet, basename="appointment-type")

urlpatterns = router.urls
