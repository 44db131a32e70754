from django.urls import path

from analytics.views import appointments, customers, marketing, quality, sales, service

app_name = "analytics"

urlpatterns = [
    path("data-quality/", quality.data_quality_dashboard, name="data_quality"),
    path("sales/", sales.sales_dashboard_view, name="sales"),
    path("service/", service.service_dashboard_view, name="service"),
    path("marketing/", marketing.marketing_dashboard_view, name="marketing"),
    path("appointments/", appointments.appointments_dashboard_view, name="appointments"),
    path("customers/", customers.customers_dashboard_view, name="customers"),
    path("customers/segment/", customers.customers_segment_create, name="customers_segment"),
]
