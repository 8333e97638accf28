"""How many payment attempts a buyer, and a client address, may make: against card testing.
Checkout, subscribe and card update count here, in the shared cache, before anything reaches
the gateway; one counter per buyer and one per address serve all three."""

import contextlib
import math
import time
from dataclasses import dataclass

from allauth.core.internal import ratelimit
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import ngettext

from accounts.exceptions import DomainError

# allauth's rate format (amount/window/per): a buyer who mistypes a card a few times, or buys
# several products in a row, stays far below; a script trying stolen card numbers does not. The
# address allows more, for a household or an office behind one address. Windows are fixed (from
# the full hour for "1h"), so across a window's edge at most twice the amount gets through.
# PAYMENT_RATE_LIMITS overrides it, per "user" or "ip" ("" or False turns the limits off).
RATES = "10/1h/user,30/1h/ip"


class TooManyPaymentAttempts(DomainError):
    """A buyer or an address used up its attempts; `retry_after` seconds until the next."""

    status = 429

    def __init__(self, *, retry_after: int):
        self.retry_after = retry_after
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            ngettext(
                "Too many payment attempts. Try again in %(minutes)d minute.",
                "Too many payment attempts. Try again in %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes}
        )


@dataclass(frozen=True)
class _Bucket:
    key: str
    amount: int
    ends: float  # when this window closes (epoch seconds)


def _rates() -> list[ratelimit.Rate]:
    configured = getattr(settings, "PAYMENT_RATE_LIMITS", None)
    if configured is None:
        # Rate limits are one switch where nothing more is said: settings that turn allauth's
        # off (the test settings) turn these off too.
        configured = "" if getattr(settings, "ACCOUNT_RATE_LIMITS", None) is False else RATES
    return ratelimit.parse_rates(configured or "")


def _buckets(request, now: float) -> list[_Bucket]:
    buckets = []
    for rate in _rates():
        # The client's address as allauth sees it (TRUSTED_PROXY_COUNT, IPv6 per /64).
        who = str(request.user.pk) if rate.per == "user" else ratelimit.get_ip(request)
        window = int(now // rate.duration)  # fixed windows: one counter, no list of times
        buckets.append(
            _Bucket(
                key=f"payments:attempts:{rate}:{who}:{window}",
                amount=rate.amount,
                ends=(window + 1) * rate.duration,
            )
        )
    return buckets


def _count(bucket: _Bucket, now: float) -> int:
    # add + incr are atomic in Redis and in the memory cache: two requests never read the same
    # count. The key names its window, so it may live a little past it.
    timeout = math.ceil(bucket.ends - now) + 60
    cache.add(bucket.key, 0, timeout=timeout)
    try:
        return cache.incr(bucket.key)
    except ValueError:  # evicted in between: this attempt is the first one again
        cache.add(bucket.key, 1, timeout=timeout)
        return 1


def payment_attempt_admit(request) -> None:
    """Count one payment attempt of the signed-in buyer, from their address. Raises
    TooManyPaymentAttempts, counting nothing, when either has used its attempts for the
    window; the caller then sends nothing to the gateway and saves nothing."""
    now = time.time()
    buckets = _buckets(request, now)
    counts = cache.get_many([b.key for b in buckets])
    full = [b for b in buckets if counts.get(b.key, 0) >= b.amount]
    counted: list[_Bucket] = []
    if not full:
        for bucket in buckets:
            counted.append(bucket)
            if _count(bucket, now) > bucket.amount:  # another request took the last one
                full.append(bucket)
                break
    if full:
        # A refused attempt uses up nothing: the buyer's own count is not spent by the
        # address's limit (nor the other way round).
        for bucket in counted:
            with contextlib.suppress(ValueError):  # expired meanwhile: nothing to give back
                cache.decr(bucket.key)
        raise TooManyPaymentAttempts(retry_after=math.ceil(max(b.ends for b in full) - now))


def form_admit(request, form) -> TooManyPaymentAttempts | None:
    """For a view with a valid payment form: count the attempt; when refused, the form says so
    (and still holds what the buyer typed) and the refusal is returned for `respond`."""
    try:
        payment_attempt_admit(request)
    except TooManyPaymentAttempts as refused:
        form.add_error(None, refused.message)
        return refused
    return None


def respond(response, refused: TooManyPaymentAttempts | None):
    """The re-rendered form page as it is, or, after a refusal, a 429 saying when to retry."""
    if refused is not None:
        response.status_code = refused.status
        response["Retry-After"] = str(refused.retry_after)
    return response
