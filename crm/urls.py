from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView

from crm import views
from crm.access import role_required
from crm.api import views as api_views
from crm.api.exceptions import is_api_request, problem_response
from crm.breadcrumbs import Crumb
from crm.customfields import views as customfield_views
from crm.forms import LoginForm, OutboxPasswordResetForm
from crm.ratelimit import rate_limit
from crm.webhooks import views as webhook_views


def _auth(view, template, title, **kwargs):
    return view.as_view(template_name=template, extra_context={"breadcrumbs": [Crumb(title)]}, **kwargs)


urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search_results, name="search"),
    path("search/suggest/", views.search_suggest, name="search_suggest"),
    path("help/", views.help_index, name="help_index"),
    path("help/panel/<str:page_id>/", views.help_panel, name="help_panel"),
    path("help/page/<str:page_id>/", views.help_detail, name="help_detail"),
    path(
        "login/",
        _auth(auth_views.LoginView, "registration/login.html", _("Log in"), redirect_authenticated_user=False,
              authentication_form=LoginForm),
        name="login",
    ),
    path("account/two-factor/", views.two_factor, name="two_factor"),
    path("account/api-tokens/", views.api_token_list, name="api_token_list"),
    path("account/api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("api/v1/", include("crm.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", role_required()(api_views.ApiDocsView.as_view()), name="api_docs"),
    path("email/outgoing/", views.OutgoingEmailListView.as_view(), name="outgoing_email_list"),
    path("email/outgoing/<int:pk>/", views.OutgoingEmailDetailView.as_view(), name="outgoing_email_detail"),
    path("email/outgoing/<int:pk>/resend/", views.outgoing_email_resend, name="outgoing_email_resend"),
    path("settings/", views.settings_index, name="settings_index"),
    path("settings/fields/", customfield_views.customfield_list, name="customfield_list"),
    path("settings/fields/new/", customfield_views.customfield_create, name="customfield_create"),
    path("settings/fields/<int:pk>/", customfield_views.customfield_edit, name="customfield_edit"),
    path("settings/fields/<int:pk>/delete/", customfield_views.customfield_delete, name="customfield_delete"),
    path("settings/fields/<int:pk>/move/", customfield_views.customfield_move, name="customfield_move"),
    path("settings/webhooks/", webhook_views.webhook_list, name="webhook_list"),
    path("settings/webhooks/new/", webhook_views.webhook_create, name="webhook_create"),
    path("settings/webhooks/<int:pk>/", webhook_views.webhook_detail, name="webhook_detail"),
    path("settings/webhooks/<int:pk>/edit/", webhook_views.webhook_edit, name="webhook_edit"),
    path("settings/webhooks/<int:pk>/rotate/", webhook_views.webhook_rotate, name="webhook_rotate"),
    path("settings/webhooks/<int:pk>/ping/", webhook_views.webhook_ping, name="webhook_ping"),
    path("settings/webhooks/<int:pk>/enable/", webhook_views.webhook_enable, name="webhook_enable"),
    path("settings/webhooks/deliveries/<int:pk>/resend/", webhook_views.webhook_resend, name="webhook_resend"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        _auth(auth_views.PasswordChangeView, "registration/password_change_form.html", _("Change password")),
        name="password_change",
    ),
    path(
        "password/change/done/",
        _auth(auth_views.PasswordChangeDoneView, "registration/password_change_done.html", _("Password changed")),
        name="password_change_done",
    ),
    path(
        "password/reset/",
        rate_limit("password-reset", limit="CRM_PASSWORD_RESET_RATE_LIMIT", frame="base.html")(_auth(
            auth_views.PasswordResetView,
            "registration/password_reset_form.html",
            _("Reset password"),
            email_template_name="registration/password_reset_email.txt",
            subject_template_name="registration/password_reset_subject.txt",
            form_class=OutboxPasswordResetForm,
        )),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        _auth(auth_views.PasswordResetDoneView, "registration/password_reset_done.html", _("Email sent")),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        _auth(auth_views.PasswordResetConfirmView, "registration/password_reset_confirm.html", _("New password")),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        _auth(auth_views.PasswordResetCompleteView, "registration/password_reset_complete.html", _("Password reset")),
        name="password_reset_complete",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("contacts/", include("contacts.urls")),
    path("sales/", include("sales.urls")),
    path("marketing/", include("marketing.urls")),
    path("service/", include("service.urls")),
    path("appointments/", include("appointments.urls")),
    path("members/", include("membership.urls")),
    path("analytics/", include("analytics.urls")),
    path("admin/", admin.site.urls),
]


def handler404(request, exception=None):
    """Unknown URLs under /api/ answer as the API does (problem details), the rest as pages."""
    if is_api_request(request):
        return problem_response(request, 404, _("There is no such API endpoint or record."))
    return defaults.page_not_found(request, exception)


def handler403(request, exception=None):
    """Refusals under /api/ answer as the API does; pages answer inside the frame (403.html)."""
    if is_api_request(request):
        return problem_response(request, 403, _("You do not have permission to perform this action."))
    return defaults.permission_denied(request, exception)


def handler500(request):
    if is_api_request(request):
        return problem_response(request, 500, _("Something went wrong on our side; the error is logged."))
    return defaults.server_error(request)
