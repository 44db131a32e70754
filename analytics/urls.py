from django.urls import path

from analytics.views import customers, quality, sales

app_name = "analytics"

urlpatterns = [
    path("data-quality/", quality.data_quality_dashboard, name="data_quality"),
    path("sales/", sales.sales_dashboard_view, name="sales"),
    path("customers/", customers.customers_dashboard_view, name="customers"),
    path("customers/segment/", customers.customers_segment_create, name="customers_segment"),
]
