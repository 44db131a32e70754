from rest_framework.routers import SimpleRouter

from service.api import views

router = SimpleRouter()
router.register("tickets", views.TicketViewSet, basename="ticket")
router.register("queues", views.QueueViewSet, basename="queue")

urlpatterns = router.urls
