"""Every key that protects money is made here, on the server, and nowhere else.

A checkout form carries a signed token the server issued for that buyer; the sale's (or
subscription's) checkout key is derived from it and the buyer, so nothing a person submits can
name another buyer's checkout nor collide with a key the billing engine uses (those live in
their own namespaces: `rec-…`, `sale-…-attempt-…`, `refund-…`)."""

import secrets

from django.core import signing
from django.utils.translation import gettext_lazy as _

from accounts.exceptions import DomainError

_SALT = "products.payments.checkout"
FORM_EXPIRED = _("This checkout form is not valid any more. Reload the page.")


def checkout_token_new(*, buyer_id: int) -> str:
    """The hidden value a checkout form carries: signed, bound to this buyer."""
    return signing.dumps({"b": buyer_id, "n": secrets.token_hex(16)}, salt=_SALT)


def checkout_key(*, buyer_id: int, token: str) -> str:
    """The sale's or subscription's checkout key for a submitted token; DomainError when the
    token was not issued by this server to this buyer."""
    try:
        value = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        raise DomainError(FORM_EXPIRED) from None
    if not isinstance(value, dict) or value.get("b") != buyer_id:
        raise DomainError(FORM_EXPIRED)
    nonce = str(value.get("n", ""))
    if len(nonce) != 32 or not all(c in "0123456789abcdef" for c in nonce):
        raise DomainError(FORM_EXPIRED)
    return f"co-{buyer_id}-{nonce}"


def recurrence_key(*, subscription_id: int, number: int) -> str:
    return f"rec-{subscription_id}-{number}"


def attempt_key(*, sale_id: int, number: int) -> str:
    return f"sale-{sale_id}-attempt-{number}"


def void_key(*, attempt_key: str) -> str:
    return f"void-{attempt_key}"


def refund_key(*, refund_id: int, attempt_id: int) -> str:
    return f"refund-{refund_id}-attempt-{attempt_id}"
