"""PaymentAttempt, SimulatedGatewayCharge and WebhookEvent now belong to `products` (state
only; their tables stay)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0003_billing_partial_indexes"),
        ("products", "0005_payments_move_here"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="PaymentAttempt"),
                migrations.DeleteModel(name="SimulatedGatewayCharge"),
                migrations.DeleteModel(name="WebhookEvent"),
            ],
        ),
    ]
