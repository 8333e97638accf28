from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = _("Subscriptions")

    def ready(self) -> None:
        # The subscription side of the one payment path: products never imports subscriptions.
        from products.payments.services import handler_register
        from subscriptions.services.billing import SubscriptionSales

        handler_register("subscription", SubscriptionSales())
