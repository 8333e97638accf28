"""The one split function: an amount paid → platform fee → affiliate → cocreators → producer.

Pure and exact on integer minor units. Fee and affiliate shares are floored; cocreators and the
producer share what remains by largest remainder, ties going to the producer, so every part is
within one minor unit of its exact share and the parts always add up to the amount paid.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction

PLATFORM = "platform"
AFFILIATE = "affiliate"
COCREATOR = "cocreator"
PRODUCER = "producer"


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
    if amount_minor < 0:
        raise ValueError("amount must not be negative")
    fee = min(amount_minor, _floor_percent(amount_minor, fee_percent) + fee_fixed_minor)
    net = amount_minor - fee
    affiliate = _floor_percent(net, affiliate_percent) if affiliate_percent else 0
    remains = net - affiliate

    exact = [Fraction(remains) * Fraction(str(p)) / 100 for _, p in cocreator_percents]
    producer_exact = Fraction(remains) - sum(exact, Fraction(0))
    shares = [*exact, producer_exact]
    floors = [int(share) for share in shares]  # all shares are ≥ 0, so int() floors
    leftover = remains - sum(floors)
    # Hand the leftover units to the largest fractional parts; the producer wins ties.
    order = sorted(
        range(len(shares)),
        key=lambda i: (shares[i] - floors[i], i == len(shares) - 1),
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
    return parts


def _floor_percent(amount_minor: int, percent: Decimal | None) -> int:
    if not percent:
        return 0
    value = Decimal(amount_minor) * Decimal(percent) / 100
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def platform_fee_settings(currency: str) -> tuple[Decimal, int]:
    from django.conf import settings

    return Decimal(settings.PLATFORM_FEE_PERCENT), settings.PLATFORM_FEE_FIXED_MINOR[currency]
