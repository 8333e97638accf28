"""Why a subscription changed, as the reader reads it. Reasons are stored once, in English (the
billing engine writes them; no one's language is the right one to store), and translated here,
where they are shown. Fixed reasons are catalog entries; the few that carry a number or a cause
are matched by pattern and rebuilt from whole translated sentences."""

import re

from django.utils.translation import gettext, gettext_noop, ngettext

# Written by subscriptions.services (billing, lifecycle, subscribe) and products.payments.
FIXED = [
    gettext_noop("Payment received"),
    gettext_noop("Payment expired"),
    gettext_noop("Waiting for payment"),
    gettext_noop("Declined"),
    gettext_noop("Card declined on every retry"),
    gettext_noop("Direct debit not confirmed"),
    gettext_noop("Charged; could not be recorded"),
    gettext_noop("No answer from the gateway: asked again with the same key"),
    gettext_noop("Free first installment"),
    gettext_noop("Canceled by a platform admin"),
    gettext_noop("Canceled by the customer"),
    gettext_noop("Canceled by the seller"),
    gettext_noop("Checkout"),
]


def _all_paid(match) -> str:
    count = int(match[1])
    return ngettext("All %(count)s installment paid", "All %(count)s installments paid", count) % {
        "count": count
    }


def _declined(match) -> str:
    if match[2]:
        return gettext("Installment %(number)s declined; retried on %(date)s") % {
            "number": match[1],
            "date": match[2],
        }
    return gettext("Installment %(number)s declined") % {"number": match[1]}


def _unpaid(match) -> str:
    return gettext("Installment %(number)s unpaid: %(why)s") % {
        "number": match[1],
        "why": reason_display(match[2]).lower(),
    }


def _first_not_paid(match) -> str:
    return gettext("First payment not made in time (%(why)s)") % {
        "why": reason_display(match[1]).lower()
    }


def _unpaid_limit(match) -> str:
    count = int(match[1])
    return ngettext(
        "%(count)s consecutive unpaid installment",
        "%(count)s consecutive unpaid installments",
        count,
    ) % {"count": count}


PATTERNS = [
    (re.compile(r"^All (\d+) installments paid$"), _all_paid),
    (re.compile(r"^Recurrence (\d+) declined(?:; retried on (\d{4}-\d{2}-\d{2}))?$"), _declined),
    (re.compile(r"^Recurrence (\d+) unpaid: (.+)$", re.IGNORECASE), _unpaid),
    (re.compile(r"^First payment not made in time \((.+)\)$", re.IGNORECASE), _first_not_paid),
    (re.compile(r"^(\d+) consecutive unpaid recurrences$"), _unpaid_limit),
]


def reason_display(reason: str) -> str:
    """The stored English reason in the active language; an unknown one (a gateway's own
    message) is shown as it came."""
    if not reason:
        return ""
    for pattern, build in PATTERNS:
        match = pattern.match(reason)
        if match:
            return build(match)
    # Stored reasons were lower-cased when quoted inside another one ("… unpaid: payment
    # expired"): look them up as written too.
    translated = gettext(reason)
    if translated == reason and reason[:1].islower():
        capitalized = gettext(reason[:1].upper() + reason[1:])
        if capitalized != reason[:1].upper() + reason[1:]:
            return capitalized
    return translated
