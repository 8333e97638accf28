"""Indexes nothing reads, written on every insert and on every status change of the busiest
money tables (a billing run inserts and updates each of them once per recurrence; a status
change that moves paid_at or the gateway reference rewrites every index of the row):

- the sale's product index: the (product, paid_at) index serves every lookup by product;
- the `varchar_pattern_ops` copies Django adds beside each unique key (checkout and
  idempotency keys), there for LIKE 'prefix%' searches that nothing makes (keys are looked up
  whole, by their unique index, which stays).

Only indexes change: the foreign key and the unique constraints stay as they are."""

import django.db.models.deletion
from django.db import migrations, models

FORWARDS = """
DROP INDEX products_sale_product_id_90b04df3;
DROP INDEX products_sale_checkout_key_dd64256a_like;
DROP INDEX subscriptions_paymentattempt_idempotency_key_5913cbc5_like;
DROP INDEX subscriptions_simulatedg_idempotency_key_98ae97ca_like;
"""

BACKWARDS = """
CREATE INDEX products_sale_product_id_90b04df3 ON products_sale (product_id);
CREATE INDEX products_sale_checkout_key_dd64256a_like
    ON products_sale (checkout_key varchar_pattern_ops);
CREATE INDEX subscriptions_paymentattempt_idempotency_key_5913cbc5_like
    ON subscriptions_paymentattempt (idempotency_key varchar_pattern_ops);
CREATE INDEX subscriptions_simulatedg_idempotency_key_98ae97ca_like
    ON subscriptions_simulatedgatewaycharge (idempotency_key varchar_pattern_ops);
"""


class Migration(migrations.Migration):
    dependencies = [("products", "0007_verbose_names")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARDS, BACKWARDS)],
            state_operations=[
                migrations.AlterField(
                    model_name="sale",
                    name="product",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="sales",
                        to="products.product",
                        verbose_name="product",
                    ),
                ),
            ],
        )
    ]
