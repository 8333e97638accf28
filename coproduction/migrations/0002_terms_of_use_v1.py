"""Publish version 1 of the Co-creation Terms of Use so invitations can be sent."""

from django.db import migrations

TERMS_V1 = """1. The main Producer remains responsible for the product before buyers, tax and regulatory authorities.
2. Only the main Producer changes the product and the co-production settings. Every change to an active co-production, including its termination, needs the Cocreator's approval.
3. The Cocreator receives the agreed percentage of the sales covered by the contract, only for sales paid after the invitation is accepted and while the contract applies, or through automatic sales recovery when the contract provides it.
4. The main Producer keeps at least 30 % of every sale; cocreators share at most 70 % of each kind of sale.
5. Revenue is split automatically by the platform at payment time; refunds and chargebacks are reversed in the same proportion.
6. The co-production ends on its end date, if it has one, or when both sides agree to end it. The platform does not end co-productions unilaterally.
7. The Cocreator sees the product's sales history and own commissions, and cannot change the product's settings."""


def publish(apps, schema_editor):
    TermsOfUse = apps.get_model("coproduction", "TermsOfUse")
    TermsOfUse.objects.get_or_create(version=1, defaults={"body": TERMS_V1})


class Migration(migrations.Migration):
    dependencies = [("coproduction", "0001_initial")]
    operations = [migrations.RunPython(publish, migrations.RunPython.noop)]
