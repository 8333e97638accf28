"""A party's month of money for the statement tests: sales as producer and cocreator, a
refund, a chargeback, a paid withdrawal with its fee and one still in flight, each at a
chosen instant (UTC).

With the test settings' fee (9.9 % + 0.50) a 100.00 BRL sale nets 89.60 to share: all of it
to the producer without cocreators; 8.96 to a 10 % cocreator and 80.64 to the producer."""

from dataclasses import dataclass
from datetime import UTC, datetime

from coproduction.services.withdrawals import withdrawal_approve, withdrawal_request
from products.services.refunds import sale_chargeback, sale_refund
from tests.coproduction.factories import ContractFactory
from tests.factories import PayoutAccountFactory, ProductFactory, SaleFactory, UserFactory


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def sell(time_machine, product, moment: datetime, **kwargs):
    time_machine.move_to(moment, tick=False)
    return SaleFactory(product=product, paid=True, **kwargs)


@dataclass
class March:
    party: object  # São Paulo; producer of `own`, 10 % cocreator of `theirs`
    other: object  # the producer of `theirs`
    own: object
    theirs: object
    paid_withdrawal: object
    open_withdrawal: object


def march(time_machine, capture) -> March:
    """The party's March 2026 (São Paulo time), after a January that left 179.20 available:

    - earnings: 2 sales of `own` as producer (179.20) and 2 of `theirs` as cocreator (17.92);
    - a refund of 50.00 on one sale of `own` (-44.80 of the producer's share);
    - a chargeback of a sale of `theirs` (-8.96 of the cocreator's share);
    - a withdrawal of 60.00 approved and paid: fee 3.67, 56.33 paid out;
    - a withdrawal of 50.00 requested and not sent yet (in withdrawal at the month's end)."""
    party = UserFactory(validated=True, time_zone="America/Sao_Paulo")
    other = UserFactory(validated=True)
    own = ProductFactory(producer=party, name="Own course")
    theirs = ProductFactory(producer=other, name="Their course")
    time_machine.move_to(at(2026, 1, 2, 12), tick=False)
    ContractFactory(product=theirs, cocreator=party, active=True, commission_percent=10)
    PayoutAccountFactory(user=party)
    admin = UserFactory(is_staff=True, is_superuser=True)
    for day in (5, 6):  # released on Feb 12 and 13 (7-day guarantee + 1 + 30 days)
        sell(time_machine, own, at(2026, 1, day, 15))

    sell(time_machine, own, at(2026, 3, 3, 12))
    refunded = sell(time_machine, own, at(2026, 3, 4, 12))
    sale_refund(sale=refunded, actor=party, amount_minor=5000, reason="Partial")
    sell(time_machine, theirs, at(2026, 3, 5, 12))
    charged_back = sell(time_machine, theirs, at(2026, 3, 6, 12))
    sale_chargeback(sale=charged_back, actor=None)

    time_machine.move_to(at(2026, 3, 10, 12), tick=False)
    paid = withdrawal_request(party=party, currency="BRL", amount_minor=6000)
    with capture(execute=True):  # sent, and the eager simulator's webhook pays it
        withdrawal_approve(withdrawal_id=paid.pk, admin=admin)
    time_machine.move_to(at(2026, 3, 20, 12), tick=False)
    # Not the first to this account, under the review amount: dispatched on commit, which
    # never comes in this test's transaction: it stays requested.
    in_flight = withdrawal_request(party=party, currency="BRL", amount_minor=5000)
    paid.refresh_from_db()
    return March(party, other, own, theirs, paid, in_flight)


def funded(time_machine):
    """A São Paulo producer with 179.20 BRL available on 2026-03-10 12:00 UTC (two January
    sales, released in February) and a Pix payout account; the clock stays there."""
    party = UserFactory(validated=True, time_zone="America/Sao_Paulo")
    product = ProductFactory(producer=party, name="Own course")
    time_machine.move_to(at(2026, 1, 2, 12), tick=False)
    PayoutAccountFactory(user=party)
    for day in (5, 6):
        sell(time_machine, product, at(2026, 1, day, 15))
    time_machine.move_to(at(2026, 3, 10, 12), tick=False)
    return party
