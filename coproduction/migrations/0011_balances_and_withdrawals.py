"""Balances and withdrawals (issue 12): the ledger also holds a withdrawal's entries (no sale,
no product), every entry says which balance figure it counts in, earnings carry their release
day; Balance and BalanceRelease rows summing the entries; Withdrawal.

Existing earnings get their release day (the day after the guarantee period plus the holding
period of the settings at the time of migrating) and the balance rows are built from the
entries: the only update the ledger ever gets, with its append-only trigger off for it."""

import django.db.models.deletion
import django.utils.timezone
import importlib

from django.conf import settings
from django.db import migrations, models


def _holding_case() -> str:
    whens = " ".join(
        f"WHEN '{currency}' THEN {int(days)}"
        for currency, days in settings.PAYOUT_HOLDING_DAYS.items()
        if currency.isalpha()
    )
    return f"CASE e.currency {whens} ELSE {int(settings.PAYOUT_HOLDING_DAYS_OTHER)} END"


BACKFILL = """
ALTER TABLE coproduction_ledgerentry DISABLE TRIGGER coproduction_ledger_append_only;
UPDATE coproduction_ledgerentry e
   SET available_on = (coalesce(s.paid_at, e.created_at) AT TIME ZONE 'UTC')::date
                      + p.guarantee_days + 1 + %(holding)s
  FROM products_sale s, products_product p
 WHERE e.entry_type = 'split' AND s.id = e.sale_id AND p.id = s.product_id;
UPDATE coproduction_ledgerentry e
   SET available_on = greatest(o.available_on, (e.created_at AT TIME ZONE 'UTC')::date)
  FROM coproduction_ledgerentry o
 WHERE e.entry_type IN ('refund', 'chargeback') AND o.entry_type = 'split'
   AND o.sale_id = e.sale_id AND o.line = e.line;
ALTER TABLE coproduction_ledgerentry ENABLE TRIGGER coproduction_ledger_append_only;
"""

BALANCES = """
INSERT INTO coproduction_balance
       (party_id, currency, shard, settled_minor, in_withdrawal_minor, withdrawn_minor, updated_at)
SELECT beneficiary_id, currency, 0, sum(amount_minor), 0, 0, now()
  FROM coproduction_ledgerentry GROUP BY beneficiary_id, currency;
INSERT INTO coproduction_balancerelease (party_id, currency, available_on, shard, amount_minor)
SELECT beneficiary_id, currency, available_on, 0, sum(amount_minor)
  FROM coproduction_ledgerentry GROUP BY beneficiary_id, currency, available_on;
"""


def _references_module():
    return importlib.import_module("coproduction.migrations.0010_ledger_set_based_references")


def references(apps, schema_editor):
    """The set-based reference check of 0010, with the withdrawal among the references."""
    m = _references_module()
    for _, table in m.REFERENCES:
        m._run(schema_editor, m.UNREFERENCED.replace("%(table)s", table))
    m._run(schema_editor, m.DROP + "DROP FUNCTION IF EXISTS coproduction_ledger_keep_referenced();")
    original = m.REFERENCES
    # forwards() builds the statements from the module's REFERENCES.
    m.REFERENCES = (*original, ("withdrawal_id", "coproduction_withdrawal"))
    try:
        m.forwards(apps, schema_editor)
    finally:
        m.REFERENCES = original


def backfill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(BACKFILL.replace("%(holding)s", _holding_case()))


def balances(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(BALANCES)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_payout_accounts"),
        ("coproduction", "0010_ledger_set_based_references"),
        ("products", "0008_fewer_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Balance",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("currency", models.CharField(max_length=3, verbose_name="currency")),
                ("shard", models.PositiveSmallIntegerField(default=0, verbose_name="shard")),
                (
                    "settled_minor",
                    models.BigIntegerField(
                        default=0, verbose_name="pending and available (minor units)"
                    ),
                ),
                (
                    "in_withdrawal_minor",
                    models.BigIntegerField(default=0, verbose_name="in withdrawal (minor units)"),
                ),
                (
                    "withdrawn_minor",
                    models.BigIntegerField(default=0, verbose_name="withdrawn (minor units)"),
                ),
                (
                    "updated_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="updated at"
                    ),
                ),
            ],
            options={
                "verbose_name": "balance",
                "verbose_name_plural": "balances",
            },
        ),
        migrations.CreateModel(
            name="BalanceRelease",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("currency", models.CharField(max_length=3, verbose_name="currency")),
                ("available_on", models.DateField(verbose_name="available on")),
                ("shard", models.PositiveSmallIntegerField(default=0, verbose_name="shard")),
                (
                    "amount_minor",
                    models.BigIntegerField(default=0, verbose_name="amount (minor units)"),
                ),
            ],
            options={
                "verbose_name": "balance release",
                "verbose_name_plural": "balance releases",
            },
        ),
        migrations.CreateModel(
            name="Withdrawal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("currency", models.CharField(max_length=3, verbose_name="currency")),
                ("amount_minor", models.BigIntegerField(verbose_name="amount (minor units)")),
                ("fee_minor", models.BigIntegerField(verbose_name="fee (minor units)")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("requested", "Requested"),
                            ("in_review", "In review"),
                            ("sent", "Sent"),
                            ("paid", "Paid"),
                            ("failed", "Failed"),
                            ("rejected", "Rejected"),
                            ("canceled", "Canceled"),
                        ],
                        default="requested",
                        max_length=20,
                        verbose_name="status",
                    ),
                ),
                (
                    "account_snapshot",
                    models.JSONField(default=dict, verbose_name="payout account details"),
                ),
                (
                    "idempotency_key",
                    models.CharField(max_length=80, unique=True, verbose_name="idempotency key"),
                ),
                (
                    "reference",
                    models.CharField(blank=True, max_length=100, verbose_name="gateway reference"),
                ),
                (
                    "review_reason",
                    models.CharField(blank=True, max_length=200, verbose_name="why it is reviewed"),
                ),
                (
                    "rejection_reason",
                    models.CharField(blank=True, max_length=500, verbose_name="rejection reason"),
                ),
                ("failure", models.CharField(blank=True, max_length=500, verbose_name="failure")),
                (
                    "requested_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="requested at"
                    ),
                ),
                ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
                (
                    "completed_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="completed at"),
                ),
            ],
            options={
                "verbose_name": "withdrawal",
                "verbose_name_plural": "withdrawals",
                "ordering": ["-requested_at", "-pk"],
            },
        ),
        migrations.RemoveConstraint(
            model_name="ledgerentry",
            name="ledger_sign_matches_type",
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="available_on",
            field=models.DateField(blank=True, null=True, verbose_name="available on"),
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="bucket",
            field=models.CharField(
                choices=[
                    ("earning", "Earnings"),
                    ("available", "Available"),
                    ("in_withdrawal", "In withdrawal"),
                    ("withdrawn", "Withdrawn"),
                ],
                db_default="earning",
                default="earning",
                max_length=20,
                verbose_name="balance",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="entry_type",
            field=models.CharField(
                choices=[
                    ("split", "Sale"),
                    ("refund", "Refund"),
                    ("chargeback", "Chargeback"),
                    ("withdrawal", "Withdrawal"),
                    ("payout", "Payout"),
                    ("payout_fee", "Withdrawal fee"),
                    ("payout_return", "Withdrawal returned"),
                ],
                max_length=20,
                verbose_name="entry type",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="product",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="products.product",
                verbose_name="product",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="role",
            field=models.CharField(
                choices=[
                    ("platform", "Platform fee"),
                    ("affiliate", "Affiliate"),
                    ("cocreator", "Cocreator"),
                    ("producer", "Producer"),
                    ("payee", "Payee"),
                ],
                max_length=20,
                verbose_name="role",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="sale",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ledger",
                to="products.sale",
                verbose_name="sale",
            ),
        ),
        migrations.AddField(
            model_name="balance",
            name="party",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="balances",
                to=settings.AUTH_USER_MODEL,
                verbose_name="party",
            ),
        ),
        migrations.AddField(
            model_name="balancerelease",
            name="party",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="party",
            ),
        ),
        migrations.AddField(
            model_name="withdrawal",
            name="party",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="withdrawals",
                to=settings.AUTH_USER_MODEL,
                verbose_name="party",
            ),
        ),
        migrations.AddField(
            model_name="withdrawal",
            name="payout_account",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="withdrawals",
                to="accounts.payoutaccount",
                verbose_name="payout account",
            ),
        ),
        migrations.AddField(
            model_name="withdrawal",
            name="reviewed_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="reviewed by",
            ),
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="withdrawal",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ledger_entries",
                to="coproduction.withdrawal",
                verbose_name="withdrawal",
            ),
        ),
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.UniqueConstraint(
                condition=models.Q(("withdrawal__isnull", False)),
                fields=("withdrawal", "line"),
                name="ledger_withdrawal_line_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("entry_type", "split"),
                        ("amount_minor__gte", 0),
                        ("product__isnull", False),
                        ("sale__isnull", False),
                        ("withdrawal__isnull", True),
                        ("bucket", "earning"),
                    ),
                    models.Q(
                        ("entry_type__in", ["refund", "chargeback"]),
                        ("amount_minor__lte", 0),
                        ("product__isnull", False),
                        ("refund__isnull", False),
                        ("sale__isnull", False),
                        ("bucket", "earning"),
                        ("withdrawal__isnull", True),
                    ),
                    models.Q(
                        ("entry_type__in", ["withdrawal", "payout", "payout_fee", "payout_return"]),
                        ("refund__isnull", True),
                        ("sale__isnull", True),
                        ("withdrawal__isnull", False),
                        models.Q(("bucket", "earning"), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="ledger_sign_matches_type",
            ),
        ),
        migrations.RunPython(references, migrations.RunPython.noop),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("available_on__isnull", False), ("bucket", "earning")),
                    models.Q(
                        models.Q(("bucket", "earning"), _negated=True),
                        ("available_on__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="ledger_earnings_have_release_day",
            ),
        ),
        migrations.AddConstraint(
            model_name="balance",
            constraint=models.UniqueConstraint(
                fields=("party", "currency", "shard"), name="balance_once", nulls_distinct=False
            ),
        ),
        migrations.AddConstraint(
            model_name="balancerelease",
            constraint=models.UniqueConstraint(
                fields=("party", "currency", "available_on", "shard"),
                name="balance_release_once",
                nulls_distinct=False,
            ),
        ),
        migrations.AddIndex(
            model_name="withdrawal",
            index=models.Index(
                fields=["party", "-requested_at"], name="coproductio_party_i_465d4d_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="withdrawal",
            index=models.Index(
                condition=models.Q(
                    ("status__in", ["paid", "failed", "rejected", "canceled"]), _negated=True
                ),
                fields=["status"],
                name="withdrawal_open",
            ),
        ),
        migrations.AddConstraint(
            model_name="withdrawal",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("amount_minor__gt", 0),
                    ("fee_minor__gte", 0),
                    ("fee_minor__lt", models.F("amount_minor")),
                ),
                name="withdrawal_amounts_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="withdrawal",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "status__in",
                        [
                            "requested",
                            "in_review",
                            "sent",
                            "paid",
                            "failed",
                            "rejected",
                            "canceled",
                        ],
                    )
                ),
                name="withdrawal_status_valid",
            ),
        ),
        migrations.RunPython(balances, migrations.RunPython.noop),
    ]
