from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("data-quality/", views.data_quality_dashboard, name="data_quality"),
    path("sales/", views.sales_dashboard_view, name="sales"),
]
