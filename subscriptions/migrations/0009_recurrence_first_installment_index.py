"""The first installment of each subscription, with the moment it was paid: the producer
dashboard's churn joins it to every subscription of the producer (subscriptions.selectors
producer_figures). Without it PostgreSQL reads every recurrence of the table to keep one in
six at a big producer's scale; with it, the first installments only, from the index alone.

Partial (number = 1): billing inserts and updates later installments without touching it; a
first installment is written at checkout and when paid. Only the database has it (RunSQL, no
model state), like the index changes of products 0008."""

from django.db import migrations

FORWARDS = """
CREATE INDEX recurrence_first_paid
    ON subscriptions_recurrence (subscription_id) INCLUDE (paid_at)
 WHERE number = 1;
"""

BACKWARDS = "DROP INDEX recurrence_first_paid;"


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0008_verbose_names")]

    operations = [migrations.RunSQL(FORWARDS, BACKWARDS)]
