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
from decimal import Decimal
from functools import lru_cache

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
    if amount_minor < 0:
        raise SplitRefused("the amount must not be negative")
    fee_ratio, affiliate_ratio, denominator, factors = _plan(
        fee_percent,
        fee_fixed_minor,
        affiliate_percent,
        tuple(percent for _, percent in cocreator_percents),
    )
    fee = min(amount_minor, _floor_ratio(amount_minor, fee_ratio) + fee_fixed_minor)
    net = amount_minor - fee
    affiliate = _floor_ratio(net, affiliate_ratio) if affiliate_ratio else 0
    remains = net - affiliate

    # Exact shares as integers over one common denominator: numerators[i] / denominator.
    numerators = [remains * factor for factor in factors]
    numerators.append(remains * denominator - sum(numerators))  # the producer's exact share
    floors = [n // denominator for n in numerators]
    leftover = remains - sum(floors)
    if leftover:
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


@lru_cache(maxsize=4096)
def _plan(
    fee_percent: Decimal,
    fee_fixed_minor: int,
    affiliate_percent: Decimal | None,
    percents: tuple[Decimal, ...],
) -> tuple[tuple[int, int], tuple[int, int] | None, int, tuple[int, ...]]:
    """What a split needs from its percentages, checked and as exact integer ratios; the same
    for every amount split with them (a billing batch asks for a handful), so it is cached.
    Returns (fee ratio, affiliate ratio or None, common denominator, each cocreator's
    numerator over that denominator per unit of what remains)."""
    _refuse_negative_parts(fee_percent, fee_fixed_minor, affiliate_percent, percents)
    ratios = [Decimal(p).as_integer_ratio() for p in percents]
    denominator = 100 * math.lcm(*(d for _, d in ratios)) if ratios else 100
    factors = tuple(n * (denominator // (100 * d)) for n, d in ratios)
    affiliate_ratio = Decimal(affiliate_percent).as_integer_ratio() if affiliate_percent else None
    return Decimal(fee_percent).as_integer_ratio(), affiliate_ratio, denominator, factors


def _refuse_negative_parts(
    fee_percent: Decimal,
    fee_fixed_minor: int,
    affiliate_percent: Decimal | None,
    percents: Sequence[Decimal],
) -> None:
    if not 0 <= Decimal(fee_percent) <= 100 or fee_fixed_minor < 0:
        raise SplitRefused("the platform fee must be 0 to 100 % plus a fixed amount of 0 or more")
    if affiliate_percent is not None and not 0 <= Decimal(affiliate_percent) <= 100:
        raise SplitRefused("the affiliate's percentage must be 0 to 100 %")
    percents = [Decimal(percent) for percent in percents]
    if any(percent < 0 for percent in percents):
        raise SplitRefused("a cocreator's percentage must not be negative")
    if sum(percents, Decimal(0)) > 100:
        raise SplitRefused(
            "the cocreators' percentages add up to more than 100 % of what remains: the "
            "producer's share would be below zero"
        )


def _floor_ratio(amount_minor: int, ratio: tuple[int, int]) -> int:
    """floor(amount * percent / 100), exact: the percent is given as an integer ratio."""
    numerator, denominator = ratio
    return amount_minor * numerator // (100 * denominator)


def platform_fee_settings(currency: str) -> tuple[Decimal, int]:
    from django.conf import settings

    return Decimal(settings.PLATFORM_FEE_PERCENT), settings.PLATFORM_FEE_FIXED_MINOR[currency]
