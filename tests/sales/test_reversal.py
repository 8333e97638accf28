"""Properties of reverse_amounts, the exact proportional reversal behind refunds and chargebacks:
for any split and any sequence of partial refunds, every part gives back its share to the minor
unit, never a negative amount, never more than it received."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from coproduction.reversal import reverse_amounts
from coproduction.split import split_amount

SPEC_SPLIT = [1040, 3136, 582, 5242]

parts_strategy = st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=7).filter(
    lambda parts: sum(parts) > 0
)


def refund_sequence(data, total: int, *, full: bool) -> list[int]:
    """Random partial refunds, each at least one unit; with `full`, they add up to the total."""
    refunds, left = [], total
    while left > 0:
        if data.draw(st.booleans(), label="stop") and not full:
            break
        amount = data.draw(st.integers(min_value=1, max_value=left), label="refund")
        refunds.append(amount)
        left -= amount
        if len(refunds) >= 12:
            if full:
                refunds.append(left)
                left = 0
            break
    return refunds


def apply_refunds(parts: list[int], refunds: list[int]) -> list[list[int]]:
    """Run the refunds in order; check each reversal's own properties; return them all."""
    already = [0] * len(parts)
    reversals = []
    for refund in refunds:
        reversal = reverse_amounts(parts, already, refund)
        assert sum(reversal) == refund
        assert all(amount >= 0 for amount in reversal)
        already = [a + r for a, r in zip(already, reversal, strict=True)]
        assert all(a <= p for a, p in zip(already, parts, strict=True))
        done = sum(already)
        for returned, part in zip(already, parts, strict=True):
            exact = Fraction(part * done, sum(parts))
            assert abs(returned - exact) < 1, (parts, refunds, already)
        reversals.append(reversal)
    return reversals


@settings(max_examples=300)
@given(parts=parts_strategy, data=st.data())
def test_partial_refunds_reverse_exactly_in_proportion(parts, data):
    apply_refunds(parts, refund_sequence(data, sum(parts), full=False))


@settings(max_examples=300)
@given(parts=parts_strategy, data=st.data())
@example(parts=SPEC_SPLIT, data=None)
def test_refunds_that_add_up_to_everything_return_every_part_exactly(parts, data):
    refunds = [sum(parts)] if data is None else refund_sequence(data, sum(parts), full=True)

    reversals = apply_refunds(parts, refunds)

    returned = [sum(column) for column in zip(*reversals, strict=True)]
    assert returned == parts


@settings(max_examples=200)
@given(parts=parts_strategy, data=st.data())
def test_a_refund_larger_than_what_is_left_raises(parts, data):
    refunds = refund_sequence(data, sum(parts), full=False)
    already = [sum(column) for column in zip(*apply_refunds(parts, refunds), strict=True)] or [
        0
    ] * len(parts)
    left = sum(parts) - sum(refunds)
    too_much = left + data.draw(st.integers(min_value=1, max_value=10**6), label="excess")

    with pytest.raises(ValueError, match="more than what is left"):
        reverse_amounts(parts, already, too_much)


@settings(max_examples=200)
@given(
    amount=st.integers(min_value=1, max_value=10**9),
    affiliate=st.one_of(st.none(), st.integers(min_value=1, max_value=80)),
    cocreators=st.lists(st.integers(min_value=1, max_value=23), max_size=3),
    data=st.data(),
)
def test_reversing_a_real_split(amount, affiliate, cocreators, data):
    """The same properties on parts made by split_amount, the way the ledger uses them."""
    parts = [
        part.amount_minor
        for part in split_amount(
            amount,
            fee_percent=Decimal("9.9"),
            fee_fixed_minor=50,
            affiliate_percent=Decimal(affiliate) if affiliate else None,
            cocreator_percents=[(i, Decimal(p)) for i, p in enumerate(cocreators)],
        )
    ]
    assert sum(parts) == amount

    reversals = apply_refunds(parts, refund_sequence(data, amount, full=True))

    assert [sum(column) for column in zip(*reversals, strict=True)] == parts


def test_spec_split_refunded_one_unit_at_a_time_never_overshoots():
    already = [0] * len(SPEC_SPLIT)
    for _ in range(sum(SPEC_SPLIT)):
        step = reverse_amounts(SPEC_SPLIT, already, 1)
        assert sorted(step) == [0, 0, 0, 1]
        already = [a + s for a, s in zip(already, step, strict=True)]
        assert all(a <= p for a, p in zip(already, SPEC_SPLIT, strict=True))

    assert already == SPEC_SPLIT


def test_spec_split_half_refund():
    assert reverse_amounts(SPEC_SPLIT, [0, 0, 0, 0], 5000) == [520, 1568, 291, 2621]


def test_a_part_that_got_nothing_never_gives_anything_back():
    assert reverse_amounts([0, 10, 0], [0, 0, 0], 7) == [0, 7, 0]


def test_zero_refund_reverses_nothing():
    assert reverse_amounts(SPEC_SPLIT, [0, 0, 0, 0], 0) == [0, 0, 0, 0]


@pytest.mark.parametrize(
    "parts, already, refund",
    [
        ([10, 10], [0, 0], -1),
        ([10, -1], [0, 0], 1),
        ([10, 10], [0], 1),
        ([10, 10], [5, 5], 11),
        ([10, 10], [0, 0], 21),
    ],
    ids=["negative refund", "negative part", "misaligned", "beyond what is left", "beyond total"],
)
def test_bad_input_raises(parts, already, refund):
    with pytest.raises(ValueError):
        reverse_amounts(parts, already, refund)


@pytest.mark.parametrize(
    "parts, refunds",
    [
        ([103, 103, 1430, 9315458, 9315458], [1] * 10 + [91093, 1]),
        ([1998, 1986, 3985667, 324, 3985667, 316, 497, 3985667], [1, 21744, 1, 1, 1, 6999, 77225]),
    ],
)
def test_runs_of_small_refunds_do_not_push_a_large_part_a_unit_behind(parts, refunds):
    """Found by Hypothesis against a largest-remainder hand-out: small parts rounded up early
    kept their unit, and a large part fell more than one unit behind its share."""
    apply_refunds(parts, refunds)
