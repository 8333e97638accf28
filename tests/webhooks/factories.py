"""Webhook endpoints for tests: made directly (no DNS look-up), with a real signing secret."""

import factory

from accounts.models import WebhookEndpoint
from accounts.outgoing_webhooks import new_secret
from tests.factories import UserFactory


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    user = factory.SubFactory(UserFactory)
    url = "https://hooks.example.com/coprod"
    description = ""
    event_types = factory.LazyFunction(lambda: ["sale.approved"])
    secret = factory.LazyFunction(new_secret)

    class Params:
        disabled = factory.Trait(is_enabled=False, disabled_reason="owner")
