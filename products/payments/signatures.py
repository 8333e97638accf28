"""HMAC-SHA256 signatures of webhook bodies, in the one documented form `sha256=<64 hex>`: the
payment gateway's (subscriptions.services.webhooks) and the payout gateway's
(coproduction.payout_gateway)."""

import hashlib
import hmac

SIGNATURE_PREFIX = "sha256="


def hmac_signature(body: bytes, secret: str) -> str:
    """The header value a gateway sends for this body."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def hmac_signature_valid(body: bytes, signature, secret: str) -> bool:
    """Only that exact form; never valid without a secret."""
    if not secret or not isinstance(signature, str):
        return False
    return hmac.compare_digest(hmac_signature(body, secret).encode(), signature.encode())
