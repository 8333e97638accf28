"""Personal access tokens for the REST API: made (the plaintext is shown once, only its SHA-256
is kept), revoked, and checked on every API request (accounts.api)."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.utils import timezone

from accounts.models import ApiToken, User

TOKEN_PREFIX = "cpd_"
# What the owner sees of a token in the list: enough to tell tokens apart, useless to guess.
PREFIX_LENGTH = 12
# last_used_at is written at most this often per token: no write per request.
LAST_USED_EVERY = timedelta(minutes=1)


def digest_of(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def api_token_create(*, user: User, name: str, scope: str) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it and its plaintext (never stored, shown once)."""
    if scope not in ApiToken.Scope.values:
        raise ValueError(f"unknown scope {scope!r}")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        scope=scope,
        prefix=plaintext[:PREFIX_LENGTH],
        digest=digest_of(plaintext),
    )
    return token, plaintext


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke once; revoking a revoked token keeps its first revocation time."""
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token.refresh_from_db(fields=["revoked_at"])
    return token


def api_token_authenticate(plaintext: str | None) -> ApiToken | None:
    """The live token whose plaintext this is, with its user, or None (unknown, malformed,
    revoked, or its user is inactive). The lookup is by the digest (a unique index), and the
    digest found is compared again in constant time, so the answer's time says nothing about
    how much of a guess was right."""
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
        return None
    digest = digest_of(plaintext)
    token = ApiToken.objects.select_related("user").filter(digest=digest).first()
    if token is None or not hmac.compare_digest(token.digest, digest):
        return None
    if token.revoked_at is not None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        # A conditional update: concurrent requests write it once.
        ApiToken.objects.filter(pk=token.pk).exclude(last_used_at__gt=now - LAST_USED_EVERY).update(
            last_used_at=now
        )
        token.last_used_at = now
    return token


def api_tokens_for_user(*, user: User):
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


# Short names for callers outside the views (positional, as plain verbs).
def create(user: User, name: str, scope: str) -> tuple[ApiToken, str]:
    return api_token_create(user=user, name=name, scope=scope)


def revoke(token: ApiToken) -> ApiToken:
    return api_token_revoke(token=token)


def authenticate(plaintext: str | None) -> ApiToken | None:
    return api_token_authenticate(plaintext)
