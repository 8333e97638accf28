"""The REST API under /api/v1/ (django-ninja): its OpenAPI schema is generated from the code
(/api/v1/openapi.json, interactive docs at /api/v1/docs). Each app's api.py has its router;
this module assembles them and answers every error as JSON with a stable code
(accounts.api.ErrorOut), never an HTML page."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.operation import PathView

from accounts.api import ApiError, error_body, retry_after
from accounts.api import router as account_router
from accounts.exceptions import DomainError, InvalidTransition
from accounts.exceptions import PermissionDenied as DomainPermissionDenied
from coproduction.api import router as coproduction_router
from products.api import router as products_router
from subscriptions.api import router as subscriptions_router

logger = logging.getLogger(__name__)

DESCRIPTION = """
Your own data, as your screens show it: products and plans, sales with their split (only your
own share where you are a cocreator or an affiliate), ledger entries and monthly earnings,
subscriptions and their charges, co-production contracts with their change requests and
history; and, with a read-and-write token, affiliation decisions and refunds.

**Authentication**: create a personal access token in Account settings > API tokens and send
it as `Authorization: Bearer cpd_…`.

**Lists** are pages: pass a page's `next_cursor` as `cursor` for the next one (`limit` ≤ 100).
**Money** is `{"amount_minor": 1990, "currency": "BRL"}`; times are ISO-8601 in UTC.
**Errors** are `{"error": {"code", "message", "details"}}` with a stable `code`.
**Rate limits** per token: 600 reads and 60 writes a minute; past them, 429 with `Retry-After`.
"""

api = NinjaAPI(
    title="Coprod API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _error(request, status: int, code: str, message: str, details=None):
    return api.create_response(request, error_body(code, str(message), details), status=status)


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return _error(request, exc.status, exc.code, exc.message, exc.details)


def _field_errors(errors: list[dict]) -> list[dict]:
    return [
        {
            "loc": [part if isinstance(part, int) else str(part) for part in item.get("loc", ())],
            "msg": str(item.get("msg", "")),
            "type": str(item.get("type", "")),
        }
        for item in errors
    ]


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    return _error(
        request, 422, "validation_error", "The request is not valid.", _field_errors(exc.errors)
    )


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if isinstance(exc, AuthenticationError):
        return _error(
            request, 401, "unauthorized", "Send a valid API token: Authorization: Bearer cpd_…"
        )
    if isinstance(exc, AuthorizationError):
        return _error(request, 403, "forbidden", exc.message)
    if isinstance(exc, Throttled):
        response = _error(
            request,
            429,
            "rate_limited",
            "Too many requests for this token; try again after Retry-After seconds.",
            {"retry_after": int(retry_after(exc.wait))},
        )
        response["Retry-After"] = retry_after(exc.wait)
        return response
    if exc.status_code == 400:  # a body that is not JSON
        return _error(request, 422, "validation_error", "The request body is not valid JSON.")
    codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 409: "conflict"}
    return _error(request, exc.status_code, codes.get(exc.status_code, "error"), exc.message)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return _error(request, 404, "not_found", "Not found.")


@api.exception_handler(DjangoPermissionDenied)
def _forbidden(request, exc):
    return _error(request, 403, "forbidden", "You may not do this.")


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    # The services' own refusals, in their own words.
    if isinstance(exc, InvalidTransition):
        return _error(request, 409, "conflict", exc.message)
    if isinstance(exc, DomainPermissionDenied):
        return _error(request, 403, "forbidden", exc.message)
    return _error(request, 422, "validation_error", exc.message)


@api.exception_handler(Exception)
def _unexpected(request, exc: Exception):
    logger.exception("API error on %s %s", request.method, request.path)
    return _error(request, 500, "server_error", "Something went wrong on our side.")


api.add_router("", account_router)
api.add_router("", products_router)
api.add_router("", subscriptions_router)
api.add_router("", coproduction_router)

# Last: any other address under /api/v1/ is a JSON 404, not the site's HTML page.
_fallback = Router()


@_fallback.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:path}", include_in_schema=False
)
def _unknown(request, path: str):
    raise Http404


api.add_router("", _fallback)


def _method_not_allowed(self) -> JsonResponse:
    """A method an address does not take: ninja answers this before any handler runs, as a
    text page; the API's own error instead, with the Allow header."""
    allowed = sorted({method for operation in self.operations for method in operation.methods})
    response = JsonResponse(
        error_body("method_not_allowed", "This address does not take that method."), status=405
    )
    response["Allow"] = ", ".join(allowed)
    return response


# ninja has no setting for it (tests/api/test_endpoints.py checks that this still applies).
PathView._not_allowed = _method_not_allowed
