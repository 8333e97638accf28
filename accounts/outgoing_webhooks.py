"""Outgoing webhooks: endpoints a person registers, the events the domain emits to them, and
their delivery, signed with Standard Webhooks, at least once, with back-off for about three
days, logged attempt by attempt.

How a delivery is sent once at a time: `deliver` claims the row in a short transaction
(SELECT … FOR UPDATE SKIP LOCKED, then a "started" WebhookAttempt row and, for the automatic
path, next_attempt_at pushed past the call's longest possible duration), commits, POSTs outside
any transaction, and records the outcome in a second short transaction. A second worker running
the same task finds the row locked, not due, already succeeded, or an attempt in flight, and
sends nothing. A worker that dies mid-call leaves a started attempt: once the lease has passed
the beat task sends the delivery again (at least once), and the stale attempt is marked
interrupted.

Decisions:
- A disabled endpoint receives no new deliveries; its pending ones keep their schedule and are
  skipped by `deliver_due` until the endpoint is enabled again, then sent (nothing is lost
  while a receiver is down; the owner sees them waiting in the log).
- Retries are driven by the once-a-minute beat task (`deliver_due`): a retry is due at
  WEBHOOK_RETRY_DELAYS[n - 1] after the n-th automatic failure and goes out within a minute.
- A manual send (resend, ping) is logged as manual, never changes an automatic schedule, and
  counts as success or failure for the endpoint like any other attempt."""

import base64
import json
import logging
import secrets
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from standardwebhooks import Webhook

from accounts import tasks, url_guard
from accounts.exceptions import DomainError
from accounts.locales import recipient
from accounts.models import User, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage

logger = logging.getLogger(__name__)

# What an endpoint may subscribe to, in the order the form lists them.
EVENT_TYPES: dict[str, str] = {
    "sale.approved": gettext_lazy("Sale approved"),
    "sale.refunded": gettext_lazy("Sale refunded"),
    "sale.chargeback": gettext_lazy("Sale charged back"),
    "subscription.status_changed": gettext_lazy("Subscription status changed"),
    "recurrence.paid": gettext_lazy("Recurrence paid"),
    "recurrence.declined": gettext_lazy("Recurrence declined"),
    "invitation.answered": gettext_lazy("Co-production invitation answered"),
    "change_request.answered": gettext_lazy("Change request answered"),
    "contract.ended": gettext_lazy("Contract ended"),
    "payout.paid": gettext_lazy("Payout paid"),
}
# The test event of the "Send test event" button: sent to one endpoint, never subscribable.
PING = "ping"
API_VERSION = "v1"
USER_AGENT = "Coprod-Webhooks/1"
MAX_ENDPOINTS_PER_USER = 10
EXCERPT_CHARS = 500
# Bytes of an answer read for its excerpt; the rest is not downloaded.
EXCERPT_BYTES = 4096
# Deliveries `deliver_due` hands out per run (once a minute).
DUE_BATCH = 500

# Why an endpoint was disabled: stored as a code, shown in the reader's language.
DISABLED_BY_OWNER = "owner"
DISABLED_BY_FAILURES = "failures"
DISABLED_BY_STAFF = "staff"
DISABLED_REASONS = {
    DISABLED_BY_OWNER: gettext_lazy("Disabled by you"),
    DISABLED_BY_FAILURES: gettext_lazy("Disabled after too many failed deliveries in a row"),
    DISABLED_BY_STAFF: gettext_lazy("Disabled by the platform's staff"),
}

Status = WebhookDelivery.Status


class WebhookError(DomainError):
    """Something about webhooks the person asked for that cannot be done (shown to them)."""


def event_label(event_type: str) -> str:
    if event_type == PING:
        return _("Test event")
    return str(EVENT_TYPES.get(event_type, event_type))


def disabled_reason_display(endpoint: WebhookEndpoint) -> str:
    reason = endpoint.disabled_reason
    return str(DISABLED_REASONS.get(reason, reason))


# --- secrets and signatures -----------------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def new_msg_id() -> str:
    return "msg_" + uuid.uuid4().hex


def signing_secrets(endpoint: WebhookEndpoint, *, at: datetime) -> list[str]:
    """The secrets that sign a delivery at `at`: the current one, and the one it replaced while
    the rotation overlap lasts (receivers that still know only the old one keep verifying)."""
    found = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and at < expires:
        found.append(endpoint.previous_secret)
    return found


def rotation_overlap_hours() -> int:
    return round(settings.WEBHOOK_SECRET_ROTATION_OVERLAP.total_seconds() / 3600)


def previous_secret_until(endpoint: WebhookEndpoint) -> datetime | None:
    """Until when the rotated-out secret still signs, if it still does."""
    if len(signing_secrets(endpoint, at=timezone.now())) > 1:
        return endpoint.previous_secret_expires_at
    return None


def signature(endpoint: WebhookEndpoint, *, msg_id: str, at: datetime, body: str) -> str:
    """The webhook-signature header: one v1 signature per signing secret, space-separated."""
    return " ".join(
        Webhook(secret).sign(msg_id, at.astimezone(UTC), body)
        for secret in signing_secrets(endpoint, at=at)
    )


def body_of(message: WebhookMessage) -> str:
    """The exact text that is posted and signed."""
    return json.dumps(message.payload, separators=(",", ":"), ensure_ascii=False)


def envelope(*, msg_id: str, event_type: str, at: datetime, data: dict) -> dict:
    """The versioned payload every event is wrapped in. `data` goes through Django's JSON
    encoder, so decimals, dates and UUIDs arrive as strings."""
    return {
        "id": msg_id,
        "type": event_type,
        "api_version": API_VERSION,
        "timestamp": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": json.loads(json.dumps(data, cls=DjangoJSONEncoder)),
    }


# --- endpoints --------------------------------------------------------------------------------


def _clean(*, url: str, description: str, event_types: Iterable[str]) -> tuple[str, str, list]:
    """The endpoint's fields, checked: a ValidationError maps each problem to its field."""
    errors: dict[str, list] = {}
    url = (url or "").strip()
    if len(url) > WebhookEndpoint._meta.get_field("url").max_length:
        errors["url"] = [ValidationError(_("The URL is too long."), code="max_length")]
    else:
        try:
            url_guard.check_url(url)
        except ValidationError as error:
            errors["url"] = error.error_list
    description = (description or "").strip()
    if len(description) > WebhookEndpoint._meta.get_field("description").max_length:
        errors["description"] = [
            ValidationError(_("The description is too long."), code="max_length")
        ]
    chosen = set(event_types or [])
    unknown = chosen - set(EVENT_TYPES)
    if unknown:
        errors["event_types"] = [
            ValidationError(
                _("Unknown event: %(events)s."),
                code="unknown_event",
                params={"events": ", ".join(sorted(unknown))},
            )
        ]
    elif not chosen:
        errors["event_types"] = [ValidationError(_("Choose at least one event."), code="no_events")]
    if errors:
        raise ValidationError(errors)
    return url, description, [name for name in EVENT_TYPES if name in chosen]


def endpoint_create(
    *, user: User, url: str, description: str = "", event_types: Iterable[str]
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret, to show the person once. ValidationError (per field) on
    bad input, WebhookError past MAX_ENDPOINTS_PER_USER."""
    url, description, events = _clean(url=url, description=description, event_types=event_types)
    secret = new_secret()
    with transaction.atomic():
        # One person's concurrent requests take turns, so the limit holds.
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
        if WebhookEndpoint.objects.filter(user=user).count() >= MAX_ENDPOINTS_PER_USER:
            raise WebhookError(
                _("You can have at most %(count)s webhook endpoints. Delete one to add another.")
                % {"count": MAX_ENDPOINTS_PER_USER}
            )
        endpoint = WebhookEndpoint.objects.create(
            user=user, url=url, description=description, event_types=events, secret=secret
        )
    return endpoint, secret


def endpoint_update(
    *, endpoint: WebhookEndpoint, url: str, description: str, event_types: Iterable[str]
) -> WebhookEndpoint:
    url, description, events = _clean(url=url, description=description, event_types=event_types)
    endpoint.url, endpoint.description, endpoint.event_types = url, description, events
    endpoint.save(update_fields=["url", "description", "event_types"])
    return endpoint


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new secret (to show once). The one it replaces keeps signing, beside it, for
    WEBHOOK_SECRET_ROTATION_OVERLAP; a secret older than that stops at once."""
    secret = new_secret()
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = (
            timezone.now() + settings.WEBHOOK_SECRET_ROTATION_OVERLAP
        )
        locked.secret = secret
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    endpoint.refresh_from_db()
    return secret


def endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Enabled again, failures forgotten: its waiting deliveries go out at the next beat."""
    endpoint.is_enabled = True
    endpoint.disabled_at = None
    endpoint.disabled_reason = ""
    endpoint.consecutive_failures = 0
    endpoint.save(
        update_fields=["is_enabled", "disabled_at", "disabled_reason", "consecutive_failures"]
    )
    return endpoint


def endpoint_disable(
    *, endpoint: WebhookEndpoint, reason: str = DISABLED_BY_OWNER
) -> WebhookEndpoint:
    endpoint.is_enabled = False
    endpoint.disabled_at = timezone.now()
    endpoint.disabled_reason = reason
    endpoint.save(update_fields=["is_enabled", "disabled_at", "disabled_reason"])
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """The endpoint and its delivery log; the messages stay (they belong to the person)."""
    endpoint.delete()


def endpoint_ping(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A "ping" message to this endpoint only, sent now (also when disabled: a way to test it
    before enabling it again). Not retried: it succeeds or fails once."""
    now = timezone.now()
    msg_id = new_msg_id()
    data = {"endpoint_url": endpoint.url, "message": "Test event from Coprod."}
    with transaction.atomic():
        message = WebhookMessage.objects.create(
            user_id=endpoint.user_id,
            msg_id=msg_id,
            event_type=PING,
            key=msg_id,
            payload=envelope(msg_id=msg_id, event_type=PING, at=now, data=data),
            created_at=now,
        )
        delivery = WebhookDelivery.objects.create(
            message=message, endpoint=endpoint, next_attempt_at=None, created_at=now
        )
        tasks.deliver_webhook.delay_on_commit(delivery.pk, manual=True)
    return delivery


def delivery_resend(*, delivery: WebhookDelivery, by_user: User) -> None:
    """Send `delivery` again now (same webhook-id), whatever its status; logged as manual."""
    if delivery.endpoint.user_id != by_user.pk:
        raise WebhookError(_("This delivery is not yours."))
    if _in_flight(delivery, now=timezone.now()):
        raise WebhookError(_("This delivery is being sent right now. Try again in a minute."))
    tasks.deliver_webhook.delay_on_commit(delivery.pk, manual=True)


# --- emitting ---------------------------------------------------------------------------------


def emit(
    event_type: str,
    *,
    key: str | int,
    user_ids: Iterable[int],
    data: Callable[[int], dict] | dict,
) -> int:
    """Tell `user_ids` that `event_type` happened to the resource `key` (a sale's id, …): one
    message per person with an enabled endpoint subscribed to it, one delivery per such
    endpoint, sent once the surrounding transaction commits. `data` is the resource as the API
    returns it to that person (called only for people who will receive it). Returns the number
    of deliveries created: running it again for the same event creates none.

    One query when nobody subscribes, so hot paths may call it freely; in or out of a
    transaction."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    wanted = {int(pk) for pk in user_ids if pk is not None}
    if not wanted:
        return 0
    rows = WebhookEndpoint.objects.filter(
        user_id__in=wanted, is_enabled=True, event_types__contains=[event_type]
    ).values_list("pk", "user_id")
    endpoints_of: dict[int, list[int]] = defaultdict(list)
    for endpoint_id, user_id in rows:
        endpoints_of[user_id].append(endpoint_id)
    if not endpoints_of:
        return 0
    key = str(key)
    now = timezone.now()
    messages = []
    for user_id in endpoints_of:
        msg_id = new_msg_id()
        payload = data(user_id) if callable(data) else data
        messages.append(
            WebhookMessage(
                user_id=user_id,
                msg_id=msg_id,
                event_type=event_type,
                key=key,
                payload=envelope(msg_id=msg_id, event_type=event_type, at=now, data=payload),
                created_at=now,
            )
        )
    with transaction.atomic():
        # The unique (user, event type, key) keeps the first message of a repeated event.
        WebhookMessage.objects.bulk_create(messages, ignore_conflicts=True)
        message_of = dict(
            WebhookMessage.objects.filter(
                user_id__in=list(endpoints_of), event_type=event_type, key=key
            ).values_list("user_id", "pk")
        )
        pairs = [
            (message_of[user_id], endpoint_id)
            for user_id, endpoint_ids in endpoints_of.items()
            for endpoint_id in endpoint_ids
        ]
        created = _insert_deliveries(pairs, now=now)
        for delivery_id in created:
            tasks.deliver_webhook.delay_on_commit(delivery_id)
    return len(created)


def _insert_deliveries(pairs: list[tuple[int, int]], *, now: datetime) -> list[int]:
    """Pending deliveries for (message, endpoint) pairs that have none yet; their ids."""
    table = WebhookDelivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (message_id, endpoint_id, status, attempts, next_attempt_at,
                                 created_at)
            SELECT pair.message_id, pair.endpoint_id, %s, 0, %s, %s
              FROM unnest(%s::bigint[], %s::bigint[]) AS pair(message_id, endpoint_id)
            ON CONFLICT (message_id, endpoint_id) DO NOTHING
            RETURNING id
            """,
            [
                Status.PENDING,
                now,
                now,
                [message_id for message_id, _ in pairs],
                [endpoint_id for _, endpoint_id in pairs],
            ],
        )
        return [row[0] for row in cursor.fetchall()]


# --- delivering -------------------------------------------------------------------------------


def _lease() -> timedelta:
    """Longer than one POST can last (connect, write, first byte and the excerpt each wait at
    most the timeout): until then a started attempt is taken as still running."""
    return timedelta(seconds=5 * settings.WEBHOOK_TIMEOUT_SECONDS + 30)


def _started(delivery: WebhookDelivery):
    # A started attempt has neither a status code nor an error yet; every outcome sets one.
    return delivery.attempt_log.filter(status_code__isnull=True, error="")


def _in_flight(delivery: WebhookDelivery, *, now: datetime) -> bool:
    return _started(delivery).filter(attempted_at__gt=now - _lease()).exists()


def _claim(delivery_id: int, *, manual: bool) -> tuple[WebhookDelivery, WebhookAttempt] | None:
    """Take the delivery for one POST, or None if it is not this call's to send."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint__user", "message")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:  # gone, or another worker holds it this instant
            return None
        if not manual and not (
            delivery.status == Status.PENDING
            and delivery.next_attempt_at is not None
            and delivery.next_attempt_at <= now
            and delivery.endpoint.is_enabled
        ):
            return None
        if _in_flight(delivery, now=now):
            return None
        with recipient(delivery.endpoint.user):
            _started(delivery).update(error=_("Interrupted: the sender stopped before an answer."))
        attempt = WebhookAttempt.objects.create(delivery=delivery, attempted_at=now, manual=manual)
        delivery.attempts += 1
        delivery.last_attempt_at = now
        fields = ["attempts", "last_attempt_at"]
        if not manual:
            delivery.next_attempt_at = now + _lease()
            fields.append("next_attempt_at")
        delivery.save(update_fields=fields)
    return delivery, attempt


@dataclass
class Outcome:
    status_code: int | None = None
    latency_ms: int = 0
    excerpt: str = ""
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and not self.error


def _excerpt(response: httpx.Response, *, deadline: float) -> str:
    received = b""
    for chunk in response.iter_bytes():
        received += chunk
        if len(received) >= EXCERPT_BYTES or time.monotonic() > deadline:
            break
    return received[:EXCERPT_BYTES].decode("utf-8", errors="replace")[:EXCERPT_CHARS]


def _post(delivery: WebhookDelivery) -> Outcome:
    """POST the delivery's message to its endpoint, signed now; never raises for what the
    network or the receiver does."""
    endpoint, message = delivery.endpoint, delivery.message
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    try:
        scheme, _host, _port = url_guard.parse(endpoint.url)
    except ValidationError as error:
        return Outcome(error=" ".join(error.messages))
    body = body_of(message)
    at = timezone.now()
    headers = {
        "webhook-id": message.msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature(endpoint, msg_id=message.msg_id, at=at, body=body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    started = time.monotonic()
    outcome = Outcome()
    try:
        with (
            httpx.Client(
                transport=url_guard.guarded_transport(scheme=scheme),
                timeout=timeout,
                follow_redirects=False,
                trust_env=False,
            ) as client,
            client.stream("POST", endpoint.url, content=body.encode(), headers=headers) as response,
        ):
            outcome.status_code = response.status_code
            outcome.excerpt = _excerpt(response, deadline=started + timeout)
            if response.is_redirect:
                outcome.error = _(
                    "Redirects are not followed (to %(location)s). Use the final URL."
                ) % {"location": response.headers.get("location", "?")[:150]}
    except httpx.TimeoutException:
        outcome.error = _("No answer within %(seconds)s seconds.") % {"seconds": timeout}
    except httpx.HTTPError as error:
        outcome.error = (str(error) or error.__class__.__name__)[:300]
    outcome.latency_ms = max(0, round((time.monotonic() - started) * 1000))
    return outcome


def _record(delivery: WebhookDelivery, attempt: WebhookAttempt, outcome: Outcome) -> None:
    now = timezone.now()
    manual = attempt.manual
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=delivery.endpoint_id)
        endpoint = endpoint.select_related("user").first()
        locked = WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).first()
        if endpoint is None or locked is None:  # deleted while the POST ran
            return
        attempt.status_code = outcome.status_code
        attempt.latency_ms = outcome.latency_ms
        attempt.response_excerpt = outcome.excerpt
        attempt.error = outcome.error
        if not outcome.succeeded and not outcome.error:
            # Marks the attempt finished (see _started) in the log's words.
            with recipient(endpoint.user):
                attempt.error = _("The endpoint answered %(code)s.") % {"code": outcome.status_code}
        attempt.save(update_fields=["status_code", "latency_ms", "response_excerpt", "error"])
        fields = []
        if outcome.succeeded:
            locked.status, locked.next_attempt_at = Status.SUCCEEDED, None
            fields = ["status", "next_attempt_at"]
            if endpoint.consecutive_failures:
                endpoint.consecutive_failures = 0
                endpoint.save(update_fields=["consecutive_failures"])
        else:
            if not manual:
                failures = locked.attempt_log.filter(manual=False).count()
                delays = settings.WEBHOOK_RETRY_DELAYS
                if failures <= len(delays):
                    locked.next_attempt_at = now + timedelta(seconds=delays[failures - 1])
                else:
                    locked.status, locked.next_attempt_at = Status.FAILED, None
                fields = ["status", "next_attempt_at"]
            elif locked.status == Status.PENDING and locked.next_attempt_at is None:
                locked.status = Status.FAILED  # a ping: no schedule to go back to
                fields = ["status"]
            _count_failure(endpoint)
        if fields:
            locked.save(update_fields=fields)


def _count_failure(endpoint: WebhookEndpoint) -> None:
    """One more failure in a row (the endpoint row is locked); at the limit the endpoint is
    disabled and its owner emailed, once: only the move from enabled to disabled sends it."""
    endpoint.consecutive_failures += 1
    fields = ["consecutive_failures"]
    limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
    if endpoint.is_enabled and endpoint.consecutive_failures >= limit:
        endpoint.is_enabled = False
        endpoint.disabled_at = timezone.now()
        endpoint.disabled_reason = DISABLED_BY_FAILURES
        fields += ["is_enabled", "disabled_at", "disabled_reason"]
        from accounts.emails import email_person

        email_person(
            endpoint.user,
            subject=lambda: _("Your webhook endpoint was disabled"),
            template="accounts/email/webhook_disabled",
            context={"endpoint": endpoint, "failures": endpoint.consecutive_failures},
            path=reverse("webhooks:detail", args=[endpoint.pk]),
        )
    endpoint.save(update_fields=fields)


def deliver(delivery_id: int, *, manual: bool = False) -> WebhookAttempt | None:
    """The delivery task: one POST of the delivery if it is due (or `manual`) and no other
    worker is sending it; the attempt logged, the schedule and the endpoint updated. Returns
    the attempt, or None when there was nothing to send. Call it outside any transaction."""
    claimed = _claim(delivery_id, manual=manual)
    if claimed is None:
        return None
    delivery, attempt = claimed
    with recipient(delivery.endpoint.user):
        outcome = _post(delivery)
    _record(delivery, attempt, outcome)
    return attempt


def deliver_due(*, limit: int = DUE_BATCH) -> int:
    """The beat task: a delivery task for each pending delivery that is due, oldest first, at
    most `limit`, skipping disabled endpoints. A row that fails to go out is logged and the
    rest go on. Returns how many were handed out."""
    due = (
        WebhookDelivery.objects.filter(
            status=Status.PENDING, next_attempt_at__lte=timezone.now(), endpoint__is_enabled=True
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    count = 0
    for delivery_id in list(due):
        try:
            tasks.deliver_webhook.delay(delivery_id)
        except Exception:
            logger.exception("webhook delivery %s could not be sent", delivery_id)
        else:
            count += 1
    return count


# --- reads for the screens --------------------------------------------------------------------


def endpoints_of(user: User):
    """The person's endpoints, each with its newest delivery's status (`last_status`)."""
    newest = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-created_at", "-pk")
    return WebhookEndpoint.objects.filter(user=user).annotate(
        last_status=Subquery(newest.values("status")[:1]),
        last_delivery_at=Subquery(newest.values("created_at")[:1]),
    )


def deliveries_of(endpoint: WebhookEndpoint):
    """The endpoint's delivery log, newest first, each with its last attempt's answer."""
    last = WebhookAttempt.objects.filter(delivery=OuterRef("pk")).order_by("-attempted_at", "-pk")
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("message")
        .annotate(
            last_status_code=Subquery(last.values("status_code")[:1]),
            last_latency_ms=Subquery(last.values("latency_ms")[:1]),
            last_excerpt=Subquery(last.values("response_excerpt")[:1]),
            last_error=Subquery(last.values("error")[:1]),
            last_manual=Subquery(last.values("manual")[:1]),
        )
        .order_by("-created_at", "-pk")
    )
