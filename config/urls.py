from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from accounts import views as account_views

admin.site.site_header = _("Coprod administration")
admin.site.site_title = _("Coprod admin")

urlpatterns = [
    path("", account_views.home, name="home"),
    path("dashboard/", account_views.dashboard, name="dashboard"),
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("", include("coproduction.urls")),
    path("", include("products.urls")),
    path("", include("subscriptions.urls")),
    path("admin/", admin.site.urls),
]
