from django.urls import path

from accounts import inbox_views, views

app_name = "accounts"

urlpatterns = [
    path("validation/", views.validation, name="validation"),
    path("settings/", views.account_settings, name="settings"),
    path("payout-account/", views.payout_account, name="payout_account"),
    path("language/", views.language, name="language"),
    path("inbox/", inbox_views.inbox, name="inbox"),
    path("inbox/bell/", inbox_views.bell, name="bell"),
    path("inbox/read/", inbox_views.inbox_read, name="inbox_read"),
    path("inbox/<int:pk>/open/", inbox_views.inbox_open, name="inbox_open"),
    path("inbox/preferences/", inbox_views.inbox_preferences, name="inbox_preferences"),
]
