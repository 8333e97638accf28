from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("validation/", views.validation, name="validation"),
    path("settings/", views.account_settings, name="settings"),
    path("language/", views.language, name="language"),
]
