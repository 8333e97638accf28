"""split_amount: platform fee → affiliate → cocreators → producer, exact to the minor unit."""

from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction

import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import strategies as st

from coproduction.split import (
    AFFILIATE,
    COCREATOR,
    PLATFORM,
    PRODUCER,
    Part,
    SplitRefused,
    platform_fee_settings,
    split_amount,
)

FEE = Decimal("9.9")


def amounts(parts: list[Part]) -> list[tuple[str, object, int]]:
    return [(part.role, part.key, part.amount_minor) for part in parts]


def test_the_spec_example():
    # 100.00 BRL: fee 9.90 + 0.50 = 10.40; net 89.60; affiliate 35 % → 31.36; remains 58.24;
    # a 10 % cocreator → 5.82; producer 52.42.
    parts = split_amount(
        10000,
        fee_percent=FEE,
        fee_fixed_minor=50,
        affiliate_percent=Decimal("35"),
        cocreator_percents=[("c1", Decimal("10"))],
    )

    assert amounts(parts) == [
        (PLATFORM, None, 1040),
        (AFFILIATE, None, 3136),
        (COCREATOR, "c1", 582),
        (PRODUCER, None, 5242),
    ]


# (amount, fee %, fixed fee, affiliate %, cocreator percents, expected amounts in order)
CASES = {
    "no affiliate, no cocreator": (10000, FEE, 50, None, [], [1040, 8960]),
    "no affiliate, one cocreator": (10000, FEE, 50, None, [10], [1040, 896, 8064]),
    # remains 8960: 30 % → 2688, 25 % → 2240, 15 % → 1344, producer 2688
    "several cocreators, exact": (
        10000,
        FEE,
        50,
        None,
        [30, 25, 15],
        [1040, 2688, 2240, 1344, 2688],
    ),
    # remains 100: 23.33 % three times → 23.33 each (floor 23), producer 30.01 (floor 30); the
    # one unit left over goes to the largest fraction (.33 beats .01), the first of equals.
    "largest remainder": (100, 0, 0, None, ["23.33"] * 3, [0, 24, 23, 23, 30]),
    # remains 7: 50 % → 3.5, producer 3.5; the tie goes to the producer.
    "tie goes to the producer": (7, 0, 0, None, [50], [0, 3, 4]),
    # 10 % of 15 = 1.5 and 10 % = 1.5 and producer 12: the single leftover unit goes to the
    # first cocreator (equal fractions keep their order; the producer has none).
    "equal cocreator fractions": (15, 0, 0, None, [10, 10], [0, 2, 1, 12]),
    # affiliate floor: net 8960 * 33.33 % = 2986.368 → 2986; remains 5974; 70 % → 4181.8 → 4182
    "affiliate floored, 70 % cocreator": (10000, FEE, 50, "33.33", [70], [1040, 2986, 4182, 1792]),
    "fee larger than the amount": (30, FEE, 50, "35", [10], [30, 0, 0, 0]),
    "fee exactly the amount": (55, FEE, 50, None, [10], [55, 0, 0]),
    # 56: fee 5 + 50 = 55; net 1; affiliate 35 % of 1 → 0; 10 % of 1 → 0.1; producer 0.9 → 1
    "one unit past the fee": (56, FEE, 50, "35", [10], [55, 0, 0, 1]),
    "one minor unit, no fee": (1, 0, 0, "35", [10, 20], [0, 0, 0, 0, 1]),
    "one minor unit, with fee": (1, FEE, 50, None, [10], [1, 0, 0]),
    "zero": (0, FEE, 50, "35", [10], [0, 0, 0, 0]),
    # COP has a big fixed fee and no cents: 1.000.000 COP → fee 99.000 + 200.000
    "COP": (1_000_000, FEE, 200_000, "50", [20], [299_000, 350_500, 70_100, 280_400]),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_worked_cases(case):
    amount, fee, fixed, affiliate, cocreators, expected = CASES[case]

    parts = split_amount(
        amount,
        fee_percent=Decimal(fee),
        fee_fixed_minor=fixed,
        affiliate_percent=Decimal(affiliate) if affiliate is not None else None,
        cocreator_percents=[(i, Decimal(str(p))) for i, p in enumerate(cocreators)],
    )

    assert [part.amount_minor for part in parts] == expected
    assert sum(expected) == amount
    assert [part.role for part in parts] == (
        [PLATFORM]
        + ([AFFILIATE] if affiliate is not None else [])
        + [COCREATOR] * len(cocreators)
        + [PRODUCER]
    )
    assert [part.key for part in parts if part.role == COCREATOR] == list(range(len(cocreators)))


def test_a_negative_amount_is_refused():
    with pytest.raises(ValueError, match="negative"):
        split_amount(-1, fee_percent=FEE, fee_fixed_minor=50)


def test_the_fee_comes_from_settings_per_currency():
    assert platform_fee_settings("BRL") == (Decimal("9.9"), 50)
    assert platform_fee_settings("COP") == (Decimal("9.9"), 200000)
    assert settings.PLATFORM_FEE_FIXED_MINOR["MXN"] == platform_fee_settings("MXN")[1]


# Properties


def _floor(amount: int, percent: Decimal) -> int:
    return int((Decimal(amount) * percent / 100).to_integral_value(rounding=ROUND_FLOOR))


def percents(max_percent: int):
    return st.integers(min_value=0, max_value=max_percent * 100).map(lambda h: Decimal(h) / 100)


@st.composite
def cocreator_percents(draw):
    """0..50 cocreators, each 0.01..70 %, together at most 70 %."""
    budget = 7000
    chosen = []
    for key in range(draw(st.integers(min_value=0, max_value=50))):
        if budget == 0:
            break
        hundredths = draw(st.integers(min_value=1, max_value=budget))
        budget -= hundredths
        chosen.append((key, Decimal(hundredths) / 100))
    return draw(st.permutations(chosen))


@given(
    amount=st.integers(min_value=1, max_value=10**9),
    fee_percent=percents(20),
    fee_fixed=st.integers(min_value=0, max_value=1000),
    affiliate=st.none() | percents(80),
    cocreators=cocreator_percents(),
)
def test_split_properties(amount, fee_percent, fee_fixed, affiliate, cocreators):
    parts = split_amount(
        amount,
        fee_percent=fee_percent,
        fee_fixed_minor=fee_fixed,
        affiliate_percent=affiliate,
        cocreator_percents=cocreators,
    )

    assert sum(part.amount_minor for part in parts) == amount
    assert all(part.amount_minor >= 0 for part in parts)

    fee, *rest = parts
    assert fee.role == PLATFORM
    assert fee.amount_minor == min(amount, _floor(amount, fee_percent) + fee_fixed)
    net = amount - fee.amount_minor
    if affiliate is not None:
        affiliate_part, *rest = rest
        assert affiliate_part.role == AFFILIATE
        assert affiliate_part.amount_minor == _floor(net, affiliate)
        remains = net - affiliate_part.amount_minor
    else:
        remains = net

    *cocreator_parts, producer = rest
    assert producer.role == PRODUCER
    assert [(p.role, p.key) for p in cocreator_parts] == [(COCREATOR, k) for k, _ in cocreators]
    exact = [Fraction(remains) * Fraction(str(p)) / 100 for _, p in cocreators]
    exact.append(Fraction(remains) - sum(exact, Fraction(0)))
    for part, share in zip([*cocreator_parts, producer], exact, strict=True):
        assert abs(part.amount_minor - share) < 1
    # The producer keeps at least 30 % of what remains, less at most one unit of rounding.
    assert producer.amount_minor >= Fraction(remains) * 30 / 100 - 1


@given(
    amount=st.integers(min_value=1, max_value=10**9),
    affiliate=percents(80),
)
def test_split_without_cocreators_leaves_the_rest_to_the_producer(amount, affiliate):
    fee, affiliate_part, producer = split_amount(
        amount, fee_percent=FEE, fee_fixed_minor=50, affiliate_percent=affiliate
    )

    assert producer.amount_minor == amount - fee.amount_minor - affiliate_part.amount_minor


# Refusals: the split raises rather than produce a share below zero (SPEC "Money").


def test_a_refusal_is_a_value_error():
    assert issubclass(SplitRefused, ValueError)


@st.composite
def cocreator_percents_above_100(draw):
    """1..10 cocreators of 0..100 % each and one more that takes the total above 100 %."""
    hundredths = draw(st.lists(st.integers(min_value=0, max_value=10000), max_size=9))
    need = max(1, 10001 - sum(hundredths))
    hundredths.append(draw(st.integers(min_value=need, max_value=need + 5000)))
    percents = [(key, Decimal(h) / 100) for key, h in enumerate(hundredths)]
    return draw(st.permutations(percents))


@given(
    amount=st.integers(min_value=0, max_value=10**9),
    fee_percent=percents(20),
    fee_fixed=st.integers(min_value=0, max_value=1000),
    affiliate=st.none() | percents(80),
    cocreators=cocreator_percents_above_100(),
)
def test_cocreator_percents_above_100_are_refused(
    amount, fee_percent, fee_fixed, affiliate, cocreators
):
    with pytest.raises(SplitRefused, match="100 %"):
        split_amount(
            amount,
            fee_percent=fee_percent,
            fee_fixed_minor=fee_fixed,
            affiliate_percent=affiliate,
            cocreator_percents=cocreators,
        )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fee_percent": Decimal("-0.01")},
        {"fee_percent": Decimal("100.01")},
        {"fee_fixed_minor": -1},
        {"affiliate_percent": Decimal("-1")},
        {"affiliate_percent": Decimal("100.01")},
        {"cocreator_percents": [("a", Decimal("-0.01"))]},
        {"cocreator_percents": [("a", Decimal("60")), ("b", Decimal("-10"))]},
        {"cocreator_percents": [("a", Decimal("60")), ("b", Decimal("60"))]},
    ],
    ids=[
        "negative fee",
        "fee above 100 %",
        "negative fixed fee",
        "negative affiliate",
        "affiliate above 100 %",
        "negative cocreator",
        "negative cocreator hidden in a valid sum",
        "60 + 60",
    ],
)
def test_inputs_that_could_make_a_negative_share_are_refused(kwargs):
    arguments = {
        "fee_percent": FEE,
        "fee_fixed_minor": 50,
        "affiliate_percent": Decimal("35"),
        "cocreator_percents": [("a", Decimal("10"))],
        **kwargs,
    }

    with pytest.raises(SplitRefused):
        split_amount(10000, **arguments)


@given(
    amount=st.integers(min_value=0, max_value=10**9),
    fee_percent=percents(100),
    fee_fixed=st.integers(min_value=0, max_value=10**6),
    affiliate=st.none() | percents(100),
    cocreators=st.lists(percents(100), max_size=5).map(
        lambda values: [(key, p) for key, p in enumerate(values)]
    ),
)
def test_any_split_either_adds_up_with_no_part_below_zero_or_is_refused(
    amount, fee_percent, fee_fixed, affiliate, cocreators
):
    try:
        parts = split_amount(
            amount,
            fee_percent=fee_percent,
            fee_fixed_minor=fee_fixed,
            affiliate_percent=affiliate,
            cocreator_percents=cocreators,
        )
    except SplitRefused:
        assert sum(p for _, p in cocreators) > 100
        return
    assert sum(part.amount_minor for part in parts) == amount
    assert all(part.amount_minor >= 0 for part in parts)


def test_exactly_100_percent_to_cocreators_leaves_the_producer_nothing_but_is_not_refused():
    *_, producer = split_amount(
        10000,
        fee_percent=FEE,
        fee_fixed_minor=50,
        cocreator_percents=[("a", Decimal("60")), ("b", Decimal("40"))],
    )

    assert producer.amount_minor == 0
