from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self) -> None:
        # The subscription side of the one payment path: products never imports subscriptions.
        from products.payments.services import handler_register
        from subscriptions.services.billing import SubscriptionSales

        handler_register("subscription", SubscriptionSales())
