from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from accounts import views as account_views
from accounts.staff_access import admin_has_permission, admin_login
from config import health
from config.api import api

admin.site.site_header = _("Coprod administration")
admin.site.site_title = _("Coprod admin")
# One login for the site and the admin (allauth's, with its throttle and second factor); the
# admin itself also asks for staff with an authenticator app.
admin.site.login = admin_login
admin.site.has_permission = admin_has_permission

urlpatterns = [
    # Also answered by config.health.HealthCheckMiddleware before any other middleware.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", account_views.home, name="home"),
    path("dashboard/", account_views.dashboard, name="dashboard"),
    path("accounts/", include("allauth.urls")),
    path("account/webhooks/", include("accounts.webhook_urls")),
    path("account/tokens/", include("accounts.token_urls")),
    path("account/", include("accounts.urls")),
    path("api/v1/", api.urls),
    path("", include("coproduction.urls")),
    path("", include("products.urls")),
    path("", include("subscriptions.urls")),
    path("admin/", admin.site.urls),
]
