"""The REST API's common parts, used by every app's router (products/api.py, coproduction/api.py,
subscriptions/api.py) and assembled in config/api.py: Bearer-token authentication (read or
read-write scope), per-token rate limits, errors as JSON with stable codes, opaque cursor
pagination over (time, id), date-range filters, and money as {"amount_minor", "currency"}.

Also the /me endpoint: who the token belongs to."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import threading
import time
from datetime import UTC, date, datetime
from typing import Annotated, Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import DateTimeField, Q, QuerySet
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle
from pydantic import BaseModel, BeforeValidator, create_model

from accounts import api_tokens
from accounts.locales import user_zone
from accounts.models import ApiToken, User

# Primary keys are PostgreSQL bigints: a larger id in a path can only be a 404 (422 here).
ID_MAX = 2**63 - 1


# ----------------------------------------------------------------------------------- errors


class ApiError(Exception):
    """An error the caller caused, answered as {"error": {"code", "message", "details"}}."""

    def __init__(self, status: int, code: str, message: str, details: Any = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class Out(BaseModel):
    """An answer's schema. Plain pydantic, not ninja's Schema: the endpoints return dicts, and
    Schema's per-object Django getter was a third of a sales page's time."""


class ErrorDetail(Out):
    code: str = Field(
        ...,
        description=(
            "Stable, machine-readable: unauthorized, forbidden, not_found, validation_error, "
            "conflict, rate_limited, method_not_allowed, server_error."
        ),
        examples=["not_found"],
    )
    message: str = Field(..., description="For a person; may be translated (Accept-Language).")
    details: Any = Field(None, description="More about the error, e.g. the invalid fields.")


class ErrorOut(Out):
    error: ErrorDetail


def error_body(code: str, message: str, details: Any = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def responses(ok: Any, *, status: int = 200, write: bool = False) -> dict:
    """An operation's documented answers: its own, and the errors every operation may give."""
    answers = {status: ok, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}
    answers[403] = ErrorOut  # a write with a read-only token; a read never gets it but says so
    if write:
        answers[409] = ErrorOut
    return answers


# ----------------------------------------------------------------------------- authentication


class TokenAuth(HttpBearer):
    """`Authorization: Bearer cpd_…`: a live token of an active user. The request then reads
    in its owner's time zone (months and date filters are theirs, as on their screens)."""

    def authenticate(self, request, token: str) -> ApiToken | None:
        found = api_tokens.api_token_authenticate(token.strip())
        if found is not None:
            # PersonLocaleMiddleware deactivates it again after the response.
            timezone.activate(user_zone(found.user))
        return found


class WriteTokenAuth(TokenAuth):
    """A read-write token; a read-only one is told so (403), not taken for a stranger (401)."""

    def authenticate(self, request, token: str) -> ApiToken | None:
        found = super().authenticate(request, token)
        if found is not None and not found.can_write:
            raise AuthorizationError(message="This token is read only; this needs read and write.")
        return found


read_auth = TokenAuth()
write_auth = WriteTokenAuth()


def api_user(request, *params: type[Schema] | str) -> User:
    """The token's owner. `params` are the query parameters the operation takes (schemas or
    names): any other one is refused (422), so a misspelt filter never means "everything"."""
    allowed: set[str] = set()
    for each in params:
        allowed |= {each} if isinstance(each, str) else set(each.model_fields)
    unknown = sorted(set(request.GET) - allowed)
    if unknown:
        raise ApiError(
            422,
            "validation_error",
            "Unknown query parameter: " + ", ".join(unknown)[:200],
            [
                {"loc": ["query", name[:100]], "msg": "unknown parameter", "type": "extra"}
                for name in unknown[:20]
            ],
        )
    return request.auth.user


# ------------------------------------------------------------------------------ rate limits


class TokenThrottle(BaseThrottle):
    """settings.API_RATE_LIMITS[scope] requests per minute per token, counted in Django's cache
    (shared between processes in production) in fixed one-minute windows: one counter per
    token and window, incremented atomically, so a token costs one small key, not a list."""

    WINDOW = 60

    def __init__(self, scope: str):
        self.scope = scope
        self._state = threading.local()  # one throttle object serves every thread

    def limit(self) -> int:
        return int(settings.API_RATE_LIMITS[self.scope])

    def allow_request(self, request) -> bool:
        token = getattr(request, "auth", None)
        if token is None:
            return True
        now = time.time()
        window = int(now // self.WINDOW)
        key = f"api-rate:{self.scope}:{token.pk}:{window}"
        cache.add(key, 0, self.WINDOW + 5)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, self.WINDOW + 5)
            count = 1
        self._state.wait = (window + 1) * self.WINDOW - now
        return count <= self.limit()

    def wait(self) -> float:
        return max(1.0, getattr(self._state, "wait", self.WINDOW))


read_throttle = TokenThrottle("read")
write_throttle = TokenThrottle("write")
READ = {"auth": read_auth, "throttle": [read_throttle]}
WRITE = {"auth": write_auth, "throttle": [write_throttle]}


def retry_after(seconds: float | None) -> str:
    return str(math.ceil(seconds or TokenThrottle.WINDOW))


# ------------------------------------------------------------------------------------ money


class Money(Out):
    amount_minor: int = Field(..., description="In the currency's minor unit (cents).")
    currency: str = Field(..., examples=["BRL"], min_length=3, max_length=3)


def money(amount_minor: int | None, currency: str) -> dict | None:
    if amount_minor is None:
        return None
    return {"amount_minor": int(amount_minor), "currency": currency}


def iso(value: datetime | None) -> str | None:
    """ISO-8601 in UTC, e.g. 2026-12-02T14:05:00Z."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def email_of(user: User | None) -> str | None:
    return user.email if user is not None else None


# ------------------------------------------------------------------------------- pagination


class PageParams(Schema):
    cursor: str | None = Field(
        None, description="`next_cursor` of the previous page; leave out for the first page."
    )
    limit: int = Field(50, ge=1, le=settings.API_PAGE_SIZE_MAX, description="Items per page.")


def page_of(item: type[Out], name: str) -> type[Out]:
    """The schema of a page of `item`s (a named model, so the OpenAPI schema reads well)."""
    return create_model(
        name,
        __base__=Out,
        results=(list[item], ...),
        next_cursor=(
            str | None,
            Field(..., description="Pass as `cursor` for the next page; null on the last one."),
        ),
    )


def _encode_cursor(value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = {"t": value.astimezone(UTC).isoformat()}
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_cursor() -> ApiError:
    return ApiError(
        422,
        "validation_error",
        "The cursor is not one this API gave out.",
        [{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "cursor_invalid"}],
    )


def _decode_cursor(cursor: str, *, is_time: bool) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if is_time != isinstance(value, dict):
            raise ValueError("kind")
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["t"])
            if value.tzinfo is None:
                raise ValueError("naive")
        elif not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("value")
        if not isinstance(pk, int) or isinstance(pk, bool) or not 0 < pk <= ID_MAX:
            raise ValueError("pk")
        if isinstance(value, int) and abs(value) > ID_MAX:
            raise ValueError("value")
    except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error):
        raise _bad_cursor() from None
    return value, pk


def keyset_page(
    queryset: QuerySet, params: PageParams, *, field: str, descending: bool = True
) -> tuple[list, str | None]:
    """One page of `queryset` ordered by (`field`, pk), newest first unless `descending` is
    False, after the cursor's row: one query (plus the queryset's prefetches) on any page, and
    rows written meanwhile neither repeat nor go missing. `field` must be non-null."""
    sign = "-" if descending else ""
    queryset = queryset.order_by(f"{sign}{field}", f"{sign}pk")
    if params.cursor:
        is_time = isinstance(queryset.model._meta.get_field(field), DateTimeField)
        value, pk = _decode_cursor(params.cursor, is_time=is_time)
        op = "lt" if descending else "gt"
        queryset = queryset.filter(
            Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"pk__{op}": pk})
        )
    rows = list(queryset[: params.limit + 1])
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = _encode_cursor(_attr(last, field), last.pk)
    return rows, next_cursor


def _attr(obj, path: str):
    for part in path.split("__"):
        obj = getattr(obj, part)
    return obj


# --------------------------------------------------------------------------------- filters


def instant(value: date | datetime | None, name: str) -> datetime | None:
    """A filter bound as an aware datetime: a date is its midnight, and a date or a datetime
    without an offset is read in the caller's time zone (as their screens show times)."""
    if value is None:
        return None
    try:
        if not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        if timezone.is_naive(value):
            value = timezone.make_aware(value, timezone.get_current_timezone())
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ApiError(
            422,
            "validation_error",
            "That date is out of range.",
            [{"loc": ["query", name], "msg": "date out of range", "type": "date_range"}],
        ) from None


def date_range(queryset: QuerySet, field: str, after, before, names: tuple[str, str]) -> QuerySet:
    """`after` inclusive, `before` exclusive."""
    start, end = instant(after, names[0]), instant(before, names[1])
    if start is not None:
        queryset = queryset.filter(**{f"{field}__gte": start})
    if end is not None:
        queryset = queryset.filter(**{f"{field}__lt": end})
    return queryset


def _iso_text(value: Any) -> Any:
    """Only ISO text is a date here: pydantic would also read 0.5 or 1700000000 as a Unix
    time, which no caller means."""
    if isinstance(value, str) and not ISO_DAY.match(value):
        raise ValueError("expected an ISO-8601 date (2026-12-01) or date-time")
    return value


ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}(?:$|[T ])")
# A date or a date-time filter value, as ISO text.
When = Annotated[date | datetime, BeforeValidator(_iso_text)]

AFTER = "Inclusive. An ISO date (midnight) or date-time; without an offset, in your time zone."
BEFORE = "Exclusive. An ISO date (midnight) or date-time; without an offset, in your time zone."


def ref(obj, **extra) -> dict | None:
    """A small {"id", "name"} reference to a related row."""
    if obj is None:
        return None
    return {"id": obj.pk, "name": getattr(obj, "name", str(obj)), **extra}


class Ref(Out):
    id: int
    name: str


# ------------------------------------------------------------------------------------- /me

router = Router(tags=["account"])


class MeOut(Out):
    id: int
    email: str
    time_zone: str
    token: TokenOut


class TokenOut(Out):
    name: str
    prefix: str
    scope: str = Field(..., description="read or write")
    created_at: str
    last_used_at: str | None


MeOut.model_rebuild()


@router.get("/me", response=responses(MeOut), summary="Who this token belongs to", **READ)
def me(request):
    token = request.auth
    user = api_user(request)
    return {
        "id": user.pk,
        "email": user.email,
        "time_zone": user.time_zone,
        "token": {
            "name": token.name,
            "prefix": token.prefix,
            "scope": token.scope,
            "created_at": iso(token.created_at),
            "last_used_at": iso(token.last_used_at),
        },
    }
