"""Stored English reasons read in the viewer's language (subscriptions.reasons)."""

import pytest
from django.utils import translation

from subscriptions.reasons import reason_display
from subscriptions.services.lifecycle import UNPAID_LIMIT_REASON


@pytest.mark.parametrize(
    ("stored", "portuguese"),
    [
        ("Payment received", "Pagamento recebido"),
        ("All 12 installments paid", "Todas as 12 parcelas pagas"),
        (
            "Recurrence 3 declined; retried on 2027-03-01",
            "Parcela 3 recusada; nova tentativa em 2027-03-01",
        ),
        ("Recurrence 3 unpaid: payment expired", "Parcela 3 não paga: pagamento expirado"),
        (
            "First payment not made in time (payment expired)",
            "Primeiro pagamento não feito a tempo (pagamento expirado)",
        ),
        (UNPAID_LIMIT_REASON, "5 parcelas consecutivas não pagas"),
        ("Canceled by the customer", "Cancelada pelo cliente"),
        ("Insufficient funds (gateway said so)", "Insufficient funds (gateway said so)"),
    ],
)
def test_a_stored_reason_reads_in_portuguese(stored, portuguese):
    with translation.override("pt-br"):
        assert reason_display(stored) == portuguese


def test_english_reads_the_stored_words():
    assert reason_display("All 12 installments paid") == "All 12 installments paid"
    assert reason_display("Recurrence 3 unpaid: payment expired") == (
        "Installment 3 unpaid: payment expired"
    )
