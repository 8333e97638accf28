"""The dates co-production money is decided by: when a contract is in force and when a
subscription was first paid. The ledger, the 70 % rule and the daily expiry all ask here, so none
of them depends on when a background task happened to run."""

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Case, Exists, F, OuterRef, Subquery, When
from django.utils import timezone

from accounts.locales import country_time_zone, end_of_day, user_zone
from accounts.models import AccountValidation, User
from coproduction.models import Contract
from products.models import Sale


def producer_zone(producer: User) -> ZoneInfo:
    """The producer's own time zone (their account setting). An account still on the default
    (UTC) whose validated country has a main zone uses that zone (accounts from before the
    setting existed); otherwise settings.TIME_ZONE."""
    if producer.time_zone and producer.time_zone != settings.TIME_ZONE:
        return user_zone(producer)
    validation = getattr(producer, "validation", None)
    if validation is not None and validation.status == AccountValidation.Status.VALIDATED:
        name = country_time_zone(str(validation.country))
        if name != "UTC":
            return ZoneInfo(name)
    return ZoneInfo(settings.TIME_ZONE)


def producer_today(producer: User):
    """Today's date where the producer is: a contract's end date is counted there."""
    return timezone.localtime(timezone.now(), producer_zone(producer)).date()


def contract_in_force_until(contract: Contract, zone: ZoneInfo | None = None) -> datetime | None:
    """The first instant the contract is no longer in force, or None while nothing ends it.

    A contract is in force through the end of its end date in the producer's time zone; one
    ended by agreement stops at the agreed termination (closed_at) if that comes first. An
    expired contract's closed_at is only when the daily task ran, so it is not used. Pass
    `zone` (the producer's) to avoid looking it up per contract."""
    until = None
    if contract.end_date is not None:
        until = end_of_day(contract.end_date, zone or producer_zone(contract.product.producer))
    if contract.status == Contract.Status.ENDED and contract.closed_at is not None:
        until = contract.closed_at if until is None else min(until, contract.closed_at)
    return until


# A subscription's first payment: when the sale of its installment number 1 was paid, or, for a
# free first installment (it has no sale), when the subscription was created. None: installment
# 1 has a sale that is not paid.


def subscription_first_payments(sales: Iterable[Sale]) -> dict[int, datetime | None]:
    """First payment per subscription of these sales (`sale.subscription` loaded), in one
    query."""
    subscriptions = {sale.subscription_id: sale.subscription for sale in sales}
    subscriptions.pop(None, None)
    if not subscriptions:
        return {}
    paid = dict(
        Sale.objects.filter(subscription_id__in=subscriptions, recurrence__number=1).values_list(
            "subscription_id", "paid_at"
        )
    )
    return {pk: paid.get(pk, subscription.created_at) for pk, subscription in subscriptions.items()}


def subscription_first_payment_expression():
    """The same first payment, for annotating a queryset of subscriptions."""
    first = Sale.objects.filter(subscription=OuterRef("pk"), recurrence__number=1)
    return Case(
        When(Exists(first), then=Subquery(first.values("paid_at")[:1])),
        default=F("created_at"),
    )
