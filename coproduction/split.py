"""The one split function: an amount paid → platform fee → affiliate → cocreators → producer.

Pure and exact on integer minor units. Fee and affiliate shares are floored; cocreators and the
producer share what remains by largest remainder, ties going to the producer, so every part is
within one minor unit of its exact share and the parts always add up to the amount paid.
Inputs that would make any part negative are refused (SplitRefused), never rounded away; the
services keep them unreachable (the 70 % rule). A fixed fee above a small amount is capped at
the amount: the fee takes everything and no part goes below zero.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

PLATFORM = "platform"
AFFILIATE = "affiliate"
COCREATOR = "cocreator"
PRODUCER = "producer"


class SplitRefused(ValueError):
    """The inputs would give some part less than zero; nothing is split."""


@dataclass(frozen=True)
class Part:
    role: str
    amount_minor: int
    key: object = None  # whose part: a contract id for cocreators, None otherwise


def split_amount(
    amount_minor: int,
    *,
    fee_percent: Decimal,
    fee_fixed_minor: int,
    affiliate_percent: Decimal | None = None,
    cocreator_percents: Sequence[tuple[object, Decimal]] = (),
) -> list[Part]:
    """The parts of `amount_minor`, in ledger order. Raises SplitRefused for a negative amount,
    a fee or affiliate percentage outside 0..100, a negative fixed fee or cocreator percentage,
    or cocreator percentages above 100 % together: any of them could pay a part below zero."""
    _refuse_negative_parts(
        amount_minor, fee_percent, fee_fixed_minor, affiliate_percent, cocreator_percents
    )
    fee = min(amount_minor, _floor_percent(amount_minor, fee_percent) + fee_fixed_minor)
    net = amount_minor - fee
    affiliate = _floor_percent(net, affiliate_percent) if affiliate_percent else 0
    remains = net - affiliate

    # Exact shares as integers over one common denominator: numerators[i] / denominator.
    ratios = [Decimal(p).as_integer_ratio() for _, p in cocreator_percents]
    denominator = 100 * math.lcm(*(d for _, d in ratios)) if ratios else 100
    numerators = [remains * n * (denominator // (100 * d)) for n, d in ratios]
    numerators.append(remains * denominator - sum(numerators))  # the producer's exact share
    floors = [n // denominator for n in numerators]
    leftover = remains - sum(floors)
    # Hand the leftover units to the largest fractional parts; the producer wins ties.
    last = len(numerators) - 1
    order = sorted(
        range(len(numerators)),
        key=lambda i: (numerators[i] % denominator, i == last),
        reverse=True,
    )
    for i in order[:leftover]:
        floors[i] += 1

    parts = [Part(PLATFORM, fee)]
    if affiliate_percent is not None:
        parts.append(Part(AFFILIATE, affiliate))
    parts += [
        Part(COCREATOR, amount, key)
        for (key, _), amount in zip(cocreator_percents, floors[:-1], strict=True)
    ]
    parts.append(Part(PRODUCER, floors[-1]))
    if any(part.amount_minor < 0 for part in parts):  # unreachable after the checks above
        raise SplitRefused(f"a part of the split would be below zero: {parts}")
    return parts


def _refuse_negative_parts(
    amount_minor: int,
    fee_percent: Decimal,
    fee_fixed_minor: int,
    affiliate_percent: Decimal | None,
    cocreator_percents: Sequence[tuple[object, Decimal]],
) -> None:
    if amount_minor < 0:
        raise SplitRefused("the amount must not be negative")
    if not 0 <= Decimal(fee_percent) <= 100 or fee_fixed_minor < 0:
        raise SplitRefused("the platform fee must be 0 to 100 % plus a fixed amount of 0 or more")
    if affiliate_percent is not None and not 0 <= Decimal(affiliate_percent) <= 100:
        raise SplitRefused("the affiliate's percentage must be 0 to 100 %")
    percents = [Decimal(percent) for _, percent in cocreator_percents]
    if any(percent < 0 for percent in percents):
        raise SplitRefused("a cocreator's percentage must not be negative")
    if sum(percents, Decimal(0)) > 100:
        raise SplitRefused(
            "the cocreators' percentages add up to more than 100 % of what remains: the "
            "producer's share would be below zero"
        )


def _floor_percent(amount_minor: int, percent: Decimal | None) -> int:
    if not percent:
        return 0
    value = Decimal(amount_minor) * Decimal(percent) / 100
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def platform_fee_settings(currency: str) -> tuple[Decimal, int]:
    from django.conf import settings

    return Decimal(settings.PLATFORM_FEE_PERCENT), settings.PLATFORM_FEE_FIXED_MINOR[currency]
