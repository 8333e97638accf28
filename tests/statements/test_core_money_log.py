"""Found while testing the payouts queue (core API, not fixed here): the withdrawal services
log their money events under a name config.money_log does not know ("withdrawal"; it lists
"payout"), so every withdrawal's line is lost and an error is logged instead."""

import logging

import pytest

from config.money_log import EVENTS
from coproduction.services.withdrawals import withdrawal_request
from tests.statements.builders import funded

pytestmark = pytest.mark.django_db


@pytest.mark.xfail(
    strict=True,
    reason="coproduction.services.withdrawals calls money_event('withdrawal'), not in "
    "config.money_log.EVENTS ('payout' is): the line is replaced by 'could not be logged'",
)
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
