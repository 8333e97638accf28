"""PaymentAttempt, SimulatedGatewayCharge and WebhookEvent move from `subscriptions` to
`products` (products.payments) in Django's state only: same tables, no data moved."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0004_sale_subscription"),
        ("subscriptions", "0003_billing_partial_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="SimulatedGatewayCharge",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("idempotency_key", models.CharField(max_length=80, unique=True)),
                        ("kind", models.CharField(default="charge", max_length=20)),
                        ("outcome", models.CharField(max_length=30)),
                        ("reference", models.CharField(max_length=80)),
                        ("amount_minor", models.BigIntegerField()),
                        ("currency", models.CharField(max_length=3)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        "ordering": ["-created_at"],
                        "db_table": "subscriptions_simulatedgatewaycharge",
                    },
                ),
                migrations.CreateModel(
                    name="PaymentAttempt",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("number", models.PositiveSmallIntegerField()),
                        ("idempotency_key", models.CharField(max_length=80, unique=True)),
                        ("amount_minor", models.BigIntegerField()),
                        ("method", models.CharField(max_length=20)),
                        ("status", models.CharField(choices=[("started", "Started"), ("approved", "Approved"), ("declined", "Declined"), ("insufficient_funds", "Insufficient funds"), ("error", "Gateway error"), ("timeout", "No answer"), ("pending", "Waiting for payment")], default="started", max_length=20)),
                        ("gateway_reference", models.CharField(blank=True, max_length=80)),
                        ("message", models.CharField(blank=True, max_length=200)),
                        ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("sale", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="attempts", to="products.sale")),
                    ],
                    options={
                        "ordering": ["sale", "number"],
                        "db_table": "subscriptions_paymentattempt",
                        "constraints": [
                            models.UniqueConstraint(fields=("sale", "number"), name="attempt_number_unique"),
                            models.CheckConstraint(condition=models.Q(("amount_minor__gt", 0)), name="attempt_amount_positive"),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="WebhookEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("event_id", models.CharField(max_length=80, unique=True)),
                        ("kind", models.CharField(max_length=40)),
                        ("payload", models.JSONField()),
                        ("received_at", models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        "ordering": ["-received_at"],
                        "db_table": "subscriptions_webhookevent",
                    },
                ),
            ],
        ),
    ]
