from django.urls import path

from subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("p/<int:pk>/subscribe/<int:plan_pk>/", views.subscribe_view, name="subscribe"),
    path("subscriptions/", views.my_subscriptions, name="mine"),
    path("subscriptions/<int:pk>/", views.detail, name="detail"),
    path("subscriptions/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("subscriptions/<int:pk>/payment/", views.update_payment, name="update_payment"),
    path("products/<int:pk>/subscribers/", views.subscribers, name="subscribers"),
    path(
        "products/<int:pk>/subscribers/<int:subscription_pk>/cancel/",
        views.seller_cancel,
        name="seller_cancel",
    ),
    path("webhooks/gateway/", views.gateway_webhook, name="webhook"),
]
