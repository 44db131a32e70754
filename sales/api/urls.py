from rest_framework.routers import SimpleRouter

from sales.api import views

router = SimpleRouter()
router.register("leads", views.LeadViewSet, basename="lead")
router.register("pipelines", views.PipelineViewSet, basename="pipeline")
router.register("stages", views.StageViewSet, basename="stage")
router.register("deals", views.DealViewSet, basename="deal")
router.register("products", views.ProductViewSet, basename="product")
router.register("price-lists", views.PriceListViewSet, basename="pricelist")
router.register("price-list-items", views.PriceListItemViewSet, basename="pricelistitem")

urlpatterns = router.urls
