"""Found while testing the payouts queue: the withdrawal services logged their money events
under a name config.money_log does not know ("withdrawal"; it lists "payout"), so every
withdrawal's line was lost and an error logged instead."""

import logging

import pytest

from config.money_log import EVENTS
from coproduction.services.withdrawals import withdrawal_request
from tests.statements.builders import funded

pytestmark = pytest.mark.django_db


def test_a_requested_withdrawal_writes_its_money_line(time_machine, caplog):
    party = funded(time_machine)

    with caplog.at_level(logging.INFO, logger="coprod.money"):
        withdrawal_request(party=party, currency="BRL", amount_minor=6000)

    assert not [r for r in caplog.records if "could not be logged" in r.getMessage()]
    assert [
        r
        for r in caplog.records
        if getattr(r, "event", None) in EVENTS and "requested" in r.getMessage()
    ]
