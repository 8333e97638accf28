"""Deploy checks for the payment path (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def webhook_secret_check(app_configs, **kwargs):
    secret = getattr(settings, "GATEWAY_WEBHOOK_SECRET", "")
    if len(secret or "") < 32 or secret == getattr(settings, "DEV_WEBHOOK_SECRET", None):
        return [
            Error(
                "GATEWAY_WEBHOOK_SECRET is missing, too short or the development default: "
                "anyone could sign a payment confirmation.",
                hint="Set GATEWAY_WEBHOOK_SECRET to the secret your gateway signs with "
                "(at least 32 characters).",
                id="products.E001",
            )
        ]
    return []
