"""Fewer indexes to write per ledger entry (six entries per charge, each one updating every
index of the table): the foreign keys' own single-column indexes go where another index already
serves their lookups (product and beneficiary: the (column, created_at) indexes; refund: the
reversal's unique index), contracts and affiliations are indexed only where set (most entries
have neither), and the reversal's uniqueness is indexed only where there is a refund: splits have
none, and NULLs never collided, so the rule is the same.

The database side is written out: AlterField would drop and re-add every foreign key, which
validates the whole ledger again; only indexes change here, the foreign keys stay."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FORWARDS = """
CREATE INDEX ledger_contract_set ON coproduction_ledgerentry (contract_id)
    WHERE contract_id IS NOT NULL;
CREATE INDEX ledger_affiliation_set ON coproduction_ledgerentry (affiliation_id)
    WHERE affiliation_id IS NOT NULL;
ALTER TABLE coproduction_ledgerentry DROP CONSTRAINT ledger_reversal_once;
CREATE UNIQUE INDEX ledger_reversal_once ON coproduction_ledgerentry (refund_id, line)
    WHERE refund_id IS NOT NULL;
DROP INDEX coproduction_ledgerentry_product_id_830831ef;
DROP INDEX coproduction_ledgerentry_beneficiary_id_5d8814d0;
DROP INDEX coproduction_ledgerentry_contract_id_8213d9a2;
DROP INDEX coproduction_ledgerentry_affiliation_id_61244957;
DROP INDEX coproduction_ledgerentry_refund_id_8e5cc49d;
"""

BACKWARDS = """
CREATE INDEX coproduction_ledgerentry_product_id_830831ef ON coproduction_ledgerentry (product_id);
CREATE INDEX coproduction_ledgerentry_beneficiary_id_5d8814d0
    ON coproduction_ledgerentry (beneficiary_id);
CREATE INDEX coproduction_ledgerentry_contract_id_8213d9a2
    ON coproduction_ledgerentry (contract_id);
CREATE INDEX coproduction_ledgerentry_affiliation_id_61244957
    ON coproduction_ledgerentry (affiliation_id);
CREATE INDEX coproduction_ledgerentry_refund_id_8e5cc49d ON coproduction_ledgerentry (refund_id);
DROP INDEX ledger_reversal_once;
ALTER TABLE coproduction_ledgerentry
    ADD CONSTRAINT ledger_reversal_once UNIQUE (refund_id, line);
DROP INDEX ledger_affiliation_set;
DROP INDEX ledger_contract_set;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("coproduction", "0008_verbose_names"),
        ("products", "0007_verbose_names"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARDS, BACKWARDS)],
            state_operations=[
                migrations.RemoveConstraint(model_name="ledgerentry", name="ledger_reversal_once"),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="affiliation",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="products.affiliation",
                        verbose_name="affiliation",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="beneficiary",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="beneficiary",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="contract",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to="coproduction.contract",
                        verbose_name="contract",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="product",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="products.product",
                        verbose_name="product",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="refund",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to="products.refund",
                        verbose_name="refund",
                    ),
                ),
                migrations.AddIndex(
                    model_name="ledgerentry",
                    index=models.Index(
                        condition=models.Q(("contract__isnull", False)),
                        fields=["contract"],
                        name="ledger_contract_set",
                    ),
                ),
                migrations.AddIndex(
                    model_name="ledgerentry",
                    index=models.Index(
                        condition=models.Q(("affiliation__isnull", False)),
                        fields=["affiliation"],
                        name="ledger_affiliation_set",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="ledgerentry",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("refund__isnull", False)),
                        fields=("refund", "line"),
                        name="ledger_reversal_once",
                    ),
                ),
            ],
        )
    ]
