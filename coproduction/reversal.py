"""Exact reversal of a split for refunds and chargebacks.

Refunding part of a charge takes back from every part of its original split in proportion, in
integer minor units. Refunds accumulate: after refunding T of an amount A, part i has returned as
close as possible to its exact share p_i·T/A, never less than it had already returned (no part is
ever paid back) and never more than it received. A full refund returns every part exactly.
"""

from collections.abc import Sequence
from fractions import Fraction


def reverse_amounts(parts: Sequence[int], already: Sequence[int], refund: int) -> list[int]:
    """How much each part gives back for `refund`, given what each already gave back."""
    total = sum(parts)
    done = sum(already)
    if refund < 0 or any(p < 0 for p in parts) or len(parts) != len(already):
        raise ValueError("parts, already and refund must be non-negative and aligned")
    if done + refund > total:
        raise ValueError("cannot refund more than what is left of the charge")
    if refund == 0:
        return [0] * len(parts)
    target_total = done + refund
    target = [Fraction(p * target_total, total) for p in parts]
    # Start from the floor of each exact target, kept within [already returned, received].
    new = [max(a, min(p, int(t))) for p, a, t in zip(parts, already, target, strict=True)]
    diff = target_total - sum(new)
    while diff > 0:
        # Hand out units by D'Hondt priority among parts still under their exact share's ceiling
        # (Balinski and Young's quota method): a small part gets its unit only when its share
        # is nearly a whole unit, so its lead never pushes a large part a unit behind.
        room = [i for i in range(len(parts)) if new[i] < parts[i]]
        under_ceiling = [i for i in room if new[i] < _ceil(target[i])] or room
        i = max(under_ceiling, key=lambda i: (Fraction(parts[i], new[i] + 1), -i))
        new[i] += 1
        diff -= 1
    while diff < 0:  # take back units from parts furthest above target that may still give less
        i = max(
            (i for i in range(len(parts)) if new[i] > already[i]),
            key=lambda i: (new[i] - target[i], -i),
        )
        new[i] -= 1
        diff += 1
    return [n - a for n, a in zip(new, already, strict=True)]


def _ceil(value: Fraction) -> int:
    return -(-value.numerator // value.denominator)
