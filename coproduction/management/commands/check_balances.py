"""Recompute every balance and release day from the ledger and report any difference."""

from django.core.management.base import BaseCommand, CommandError

from coproduction.balances import check_balances


class Command(BaseCommand):
    help = (
        "Recompute every party's balance (and each release day) from the ledger entries and "
        "list the rows that differ; exits with an error when one does."
    )

    def handle(self, **options):
        differences = check_balances()
        for d in differences:
            party, currency, *day = d.key
            self.stdout.write(
                f"{d.what} party={party or 'platform'} currency={currency}"
                f"{' day=' + str(day[0]) if day else ''}: stored {d.stored}, "
                f"entries say {d.computed}"
            )
        if differences:
            raise CommandError(f"{len(differences)} balance rows differ from the ledger.")
        self.stdout.write("Every balance equals the sum of its ledger entries.")
