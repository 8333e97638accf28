"""What buyers and producers are told about subscriptions (accounts.notifications.notify: the
inbox, and an email unless turned off): status changes, declined cards (dunning), slips, a
receipt for every paid recurrence, renewal reminders. Each once per event, however often the
task or the transition that tells it runs."""

from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.locales import local_date
from accounts.models import Notification
from accounts.notifications import GENERIC_EMAIL, notify
from products.models import Plan
from subscriptions.models import Recurrence, Subscription, SubscriptionEvent

Kind = Notification.Kind

# A reminder a week before a charge, for the periodicities whose charge a buyer may forget.
REMINDED = (Plan.Periodicity.SEMIANNUAL, Plan.Periodicity.YEARLY)
REMIND_DAYS = 7


def _detail(subscription: Subscription) -> str:
    return reverse("subscriptions:detail", args=[subscription.pk])


def _payment(subscription: Subscription) -> str:
    """Where the buyer updates the card: the subscription's Payment details."""
    return _detail(subscription) + "#payment"


def _params(subscription: Subscription, **extra) -> dict:
    return {"product": subscription.product.name, **extra}


def transition_told(subscription: Subscription, event: SubscriptionEvent, actor) -> None:
    """Called by subscription_transition for every status change it records."""
    to = event.to_status
    if to == Subscription.Status.ACTIVE and event.from_status == Subscription.Status.INITIATED:
        notify(
            subscription.product.producer,
            Kind.NEW_SUBSCRIBER,
            key=f"subscription:{subscription.pk}",
            params=_params(subscription, name=subscription.buyer.get_full_name()),
            path=reverse("subscriptions:subscribers", args=[subscription.product_id]),
            email=GENERIC_EMAIL,
        )
        return
    if actor is not None and actor.pk == subscription.buyer_id:
        return  # the buyer's own doing: the screen already said so
    kind = {
        Subscription.Status.OVERDUE: Kind.SUBSCRIPTION_OVERDUE,
        Subscription.Status.CANCELED_BY_SELLER: Kind.SUBSCRIPTION_CANCELED,
        Subscription.Status.CANCELED_BY_ADMIN: Kind.SUBSCRIPTION_CANCELED,
        Subscription.Status.EXPIRED: Kind.SUBSCRIPTION_EXPIRED,
    }.get(to)
    if kind is None:
        return
    path = _payment(subscription) if kind == Kind.SUBSCRIPTION_OVERDUE else _detail(subscription)
    notify(
        subscription.buyer,
        kind,
        key=f"subscription:{subscription.pk}:{event.pk}",
        params=_params(subscription),
        path=path,
        email=GENERIC_EMAIL,
        email_context={"subscription": subscription},
    )


def declined_told(recurrence: Recurrence, *, attempt: int, retry_at: datetime | None) -> None:
    """Dunning: a recurrence's charge was declined. The buyer gets the update-card link and
    the day of the next try (in their zone); the subscription's Overdue says nothing more."""
    subscription = recurrence.subscription
    notify(
        subscription.buyer,
        Kind.PAYMENT_DECLINED,
        key=f"recurrence:{recurrence.pk}:{attempt}",
        params=_params(subscription, retry_at=retry_at.isoformat() if retry_at else None),
        path=_payment(subscription),
        email=GENERIC_EMAIL,
        email_context={"subscription": subscription, "retry_at": retry_at},
    )


def slip_told(recurrence: Recurrence) -> None:
    subscription = recurrence.subscription
    notify(
        subscription.buyer,
        Kind.SLIP_ISSUED,
        key=f"recurrence:{recurrence.pk}:{recurrence.slip_code}",
        params=_params(subscription),
        path=reverse("products:slip", args=[recurrence.sale_id]),
        email="subscriptions/email/slip",
        email_context={"subscription": subscription, "recurrence": recurrence},
    )


def paid_told_later(recurrence_pks: list[int]) -> None:
    """From inside a billing batch: the receipts go out once it commits, in a task."""
    if recurrence_pks:
        from subscriptions.tasks import send_receipts

        pks = list(recurrence_pks)
        transaction.on_commit(lambda: send_receipts.delay(pks))


def receipts_send(recurrence_pks: list[int]) -> int:
    """A receipt for each paid recurrence (the first payment too). Returns how many were new."""
    sent = 0
    recurrences = (
        Recurrence.objects.filter(pk__in=recurrence_pks, status=Recurrence.Status.PAID)
        .select_related("subscription__product", "subscription__buyer", "sale")
        .order_by("pk")
    )
    for recurrence in recurrences:
        subscription = recurrence.subscription
        with transaction.atomic():
            sent += notify(
                subscription.buyer,
                Kind.RECEIPT,
                key=f"sale:{recurrence.sale_id}",
                params=_params(
                    subscription,
                    amount_minor=recurrence.sale.amount_minor,
                    currency=recurrence.sale.currency,
                ),
                path=_detail(subscription),
                email=GENERIC_EMAIL,
                email_context={"subscription": subscription},
            )
    return sent


def slips_remind(*, now: datetime | None = None) -> int:
    """Beat: the day before a recurrence's slip expires, remind the buyer (once per slip)."""
    now = now or timezone.now()
    due = (
        Recurrence.objects.filter(
            status=Recurrence.Status.PENDING,
            slip_expires_at__gt=now,
            slip_expires_at__lte=now + timedelta(days=1),
        )
        .exclude(slip_code="")
        .select_related("subscription__product", "subscription__buyer")
        .order_by("pk")
    )
    told = 0
    for recurrence in due.iterator(chunk_size=500):
        subscription = recurrence.subscription
        with transaction.atomic():
            told += notify(
                subscription.buyer,
                Kind.SLIP_EXPIRING,
                key=f"recurrence:{recurrence.pk}:{recurrence.slip_code}",
                params=_params(subscription),
                path=reverse("products:slip", args=[recurrence.sale_id]),
                email=GENERIC_EMAIL,
                email_context={"subscription": subscription},
            )
    return told


def renewals_remind(*, now: datetime | None = None) -> int:
    """Beat: a week before a semiannual or yearly charge (the buyer's local date), remind the
    buyer of the day and the amount, once per charge date."""
    now = now or timezone.now()
    # Zones differ from UTC by less than a day: the window is widened by one, then each
    # candidate is checked against its own zone's date.
    today_utc = now.date()
    due = (
        Subscription.objects.filter(
            status__in=Subscription.BILLABLE,
            plan__periodicity__in=REMINDED,
            next_charge_date__gt=today_utc - timedelta(days=1),
            next_charge_date__lte=today_utc + timedelta(days=REMIND_DAYS + 1),
        )
        .select_related("product", "plan", "buyer")
        .order_by("pk")
    )
    told = 0
    for subscription in due.iterator(chunk_size=500):
        today = local_date(subscription, now)  # the subscription's own zone
        days_left = (subscription.next_charge_date - today).days
        if not 0 < days_left <= REMIND_DAYS:
            continue
        with transaction.atomic():
            told += notify(
                subscription.buyer,
                Kind.RENEWAL_REMINDER,
                key=f"subscription:{subscription.pk}:{subscription.next_charge_date}",
                params=_params(
                    subscription,
                    date=subscription.next_charge_date.isoformat(),
                    amount_minor=subscription.plan.price_minor,
                    currency=subscription.product.currency,
                ),
                path=_detail(subscription),
                email=GENERIC_EMAIL,
                email_context={"subscription": subscription},
            )
    return told
