"""Subscribing to a plan: the first installment is charged at checkout (two cards may split
it), later ones by the billing run. Changing the card stays within its payment family."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.exceptions import DomainError, InvalidTransition, PermissionDenied
from accounts.locales import local_date, user_zone
from accounts.models import User
from products.models import PaymentAttempt, Plan, Product, Sale
from products.money import format_money
from products.payments import keys
from products.payments.methods import Family, Method, family_of, is_available
from products.payments.services import (
    AttemptPlan,
    Charge,
    attempts_start,
    payments_collect,
)
from products.payments.states import transition
from products.services.sales import affiliation_for_code
from subscriptions.models import Recurrence, Subscription
from subscriptions.schedule import due_date
from subscriptions.services.billing import LEASE, recurrence_build
from subscriptions.services.lifecycle import subscription_transition

# Marked for extraction only: a str (not lazy) that callers translate where it is shown.
SWITCH_FAMILY_ADVICE = gettext_noop(
    "A subscription cannot switch between card, cash payment and direct debit. Cancel this "
    "subscription and buy the product again choosing the payment method you want."
)


def card_label(method: str, token: str) -> str:
    if family_of(method) != Family.CARD:
        return Method(method).label
    digits = "".join(ch for ch in token if ch.isdigit())
    if method == Method.CARD and digits:
        return f"Card •••• {digits[-4:]}"
    return Method(method).label


def subscription_start(
    *,
    plan: Plan,
    buyer: User,
    method: str,
    country: str,
    token: str,
    affiliate_code: str | None,
    checkout_token: str,
    second_token: str = "",
    second_amount_minor: int | None = None,
) -> Subscription:
    """Create the subscription (Initiated) with its first recurrence, or find it again when the
    same checkout form is submitted twice; then pay the first installment. The key comes from
    a token this server issued to this buyer."""
    checkout_key = keys.checkout_key(buyer_id=buyer.pk, token=checkout_token)
    existing = Subscription.objects.filter(checkout_key=checkout_key).first()
    if existing is None:
        if second_token:  # refuse a bad split before anything is created
            _split_check(
                method=method,
                amount_minor=_first_amount(plan),
                second_amount_minor=second_amount_minor,
                currency=plan.product.currency,
            )
        existing = _create(
            plan=plan,
            buyer=buyer,
            method=method,
            country=country,
            token=token,
            affiliate_code=affiliate_code,
            checkout_key=checkout_key,
        )
    elif existing.plan_id != plan.pk:
        raise DomainError(keys.FORM_EXPIRED)
    if existing.status != Subscription.Status.INITIATED:
        return existing
    if method != existing.method or country.upper() != existing.country:
        _change_method(existing, method=method, country=country, token=token)
    elif token and family_of(existing.method) == Family.CARD:
        existing.payment_token = token.strip()
        existing.payment_label = card_label(existing.method, token)
        existing.save(update_fields=["payment_token", "payment_label"])
    return subscription_pay_first(
        subscription=existing, second_token=second_token, second_amount_minor=second_amount_minor
    )


def _change_method(subscription: Subscription, *, method: str, country: str, token: str):
    """The checkout form comes back with the same key after a failed payment: until the first
    installment is under way the buyer may choose another method (or country) there."""
    if not is_available(method, country):
        raise DomainError(_("This payment method is not available in your country."))
    if method == Method.CARD and not token.strip():
        raise DomainError(_("Enter the card number."))
    with transaction.atomic():
        recurrence = Recurrence.objects.select_for_update(of=("self",)).get(
            subscription=subscription, number=1
        )
        unknown = recurrence.sale.attempts.filter(status__in=PaymentAttempt.UNKNOWN)
        if recurrence.status != Recurrence.Status.SCHEDULED or unknown.exists():
            return  # under way, or a lost answer to settle first: pay_first says which
        subscription.method, subscription.country = method, country.upper()
        subscription.payment_token = token.strip() if family_of(method) == Family.CARD else ""
        subscription.payment_label = card_label(method, token)
        subscription.save(update_fields=["method", "country", "payment_token", "payment_label"])
        Sale.objects.filter(pk=recurrence.sale_id).update(method=method, country=country.upper())


def _create(*, plan, buyer, method, country, token, affiliate_code, checkout_key):
    product = plan.product
    if product.producer_id == buyer.pk:
        raise DomainError(_("You are the producer of this product; you cannot subscribe to it."))
    if not (product.is_active and plan.is_active and product.kind == Product.Kind.SUBSCRIPTION):
        raise DomainError(_("This plan is not open for subscriptions."))
    if not is_available(method, country):
        raise DomainError(_("This payment method is not available in your country."))
    if family_of(method) == Family.CARD and method == Method.CARD and not token.strip():
        raise DomainError(_("Enter the card number."))
    now = timezone.now()
    today = local_date(buyer, now)  # the anchor is the buyer's date, not UTC's
    amount = _first_amount(plan)
    try:
        with transaction.atomic():
            subscription = Subscription.objects.create(
                product=product,
                plan=plan,
                buyer=buyer,
                affiliation=affiliation_for_code(product=product, code=affiliate_code, buyer=buyer),
                method=method,
                country=country.upper(),
                payment_token=token.strip() if family_of(method) == Family.CARD else "",
                payment_label=card_label(method, token),
                anchor_date=today,
                time_zone=user_zone(buyer).key,
                last_number=1,
                checkout_key=checkout_key,
            )
            subscription.next_charge_date = (
                None if plan.installments == 1 else due_date(today, plan.periodicity, 2)
            )
            subscription.save(update_fields=["next_charge_date"])
            if amount == 0:
                _start_free(subscription)
                return subscription
            sale, recurrence = recurrence_build(
                subscription=subscription, number=1, due=today, amount_minor=amount, now=now
            )
            sale.save()
            recurrence.sale = sale
            recurrence.next_attempt_at = None  # the buyer pays it now, at checkout
            recurrence.save()
            return subscription
    except IntegrityError:
        return Subscription.objects.get(checkout_key=checkout_key, buyer=buyer)


def _first_amount(plan: Plan) -> int:
    return (
        plan.price_minor if plan.promo_first_price_minor is None else plan.promo_first_price_minor
    )


def _split_check(*, method: str, amount_minor: int, second_amount_minor, currency: str) -> None:
    if method != Method.CARD:
        raise DomainError(_("Only credit cards can split the first payment."))
    if not second_amount_minor or not 0 < second_amount_minor < amount_minor:
        raise DomainError(
            _("The second card's amount must be above zero and below %(amount)s.")
            % {"amount": format_money(amount_minor, currency)}
        )


def _start_free(subscription: Subscription) -> None:
    """A free first installment (promo price 0): nothing to charge, and no sale can record 0,
    so installment 1 counts as settled and the subscription starts Active."""
    subscription.paid_count = 1
    subscription.save(update_fields=["paid_count"])
    subscription_transition(
        subscription=subscription,
        to=Subscription.Status.ACTIVE,
        actor=None,
        reason=gettext_noop("Free first installment"),  # stored; translated where shown
    )
    if subscription.plan.installments == 1:
        subscription_transition(
            subscription=subscription,
            to=Subscription.Status.EXPIRED,
            actor=None,
            reason="All 1 installments paid",
        )


def subscription_pay_first(
    *, subscription: Subscription, second_token: str = "", second_amount_minor: int | None = None
) -> Subscription:
    """Charge the first installment through the one payment path. With two cards the first
    installment is split; if either card fails, what the other charged is given back."""
    now = timezone.now()
    with transaction.atomic():
        recurrence = (
            Recurrence.objects.select_for_update(of=("self",))
            .select_related("sale", "subscription")
            .get(subscription=subscription, number=1)
        )
        if recurrence.status == Recurrence.Status.PAID:
            return subscription
        if recurrence.status == Recurrence.Status.PENDING:
            raise DomainError(_("This subscription is waiting for your payment slip or debit."))
        if recurrence.status not in (Recurrence.Status.SCHEDULED, Recurrence.Status.COLLECTING):
            raise InvalidTransition(_("This subscription can no longer be paid."))
        amounts = (recurrence.amount_minor,)
        tokens = [subscription.payment_token]
        if second_token:
            _split_check(
                method=subscription.method,
                amount_minor=recurrence.amount_minor,
                second_amount_minor=second_amount_minor,
                currency=recurrence.sale.currency,
            )
            amounts = (recurrence.amount_minor - second_amount_minor, second_amount_minor)
            tokens.append(second_token.strip())
        # A request that died while paying leaves its attempts started; past the lease the
        # buyer's retry takes them over (same keys).
        [attempts] = attempts_start(
            plans=[AttemptPlan(recurrence.sale_id, amounts, subscription.method)],
            now=now,
            fresh_after=now - LEASE,
        )
        if len(attempts) != len(tokens):  # asking again about a lost answer: its own token
            tokens = [subscription.payment_token] * len(attempts)
        values = {
            # A single-card payment carries the collector's lease: if this request dies and
            # the buyer never comes back, the billing run asks again with the same key.
            "next_attempt_at": now + LEASE if len(attempts) == 1 else None
        }
        if recurrence.status == Recurrence.Status.SCHEDULED:
            transition(recurrence, Recurrence.Status.COLLECTING, reason="Checkout", **values)
        else:
            Recurrence.objects.filter(pk=recurrence.pk).update(**values)
    outcome = payments_collect(
        [
            Charge(attempt=attempt, currency=recurrence.sale.currency, token=token)
            for attempt, token in zip(attempts, tokens, strict=True)
        ]
    )[recurrence.sale_id]
    subscription.refresh_from_db()
    if outcome in ("paid", "awaiting", "settled", "attention"):
        return subscription
    if outcome == "lost":
        raise DomainError(
            _(
                "The payment service did not answer in time. Try again: you will not be "
                "charged twice."
            )
        )
    failed = (
        recurrence.sale.attempts.exclude(
            status__in=[PaymentAttempt.Status.APPROVED, PaymentAttempt.Status.VOIDED]
        )
        .order_by("-number")
        .first()
    )
    raise DomainError(failed.message if failed and failed.message else _("The payment failed."))


def subscription_update_payment(
    *, subscription: Subscription, actor: User, method: str, token: str
) -> Subscription:
    """The buyer changes the card (or wallet) used from now on, within the same family."""
    if actor.pk != subscription.buyer_id:
        raise PermissionDenied(_("Only the subscriber changes the payment details."))
    if method not in Method.values:
        raise DomainError(_("Choose a payment method."))
    if family_of(method) != family_of(subscription.method):
        raise DomainError(_(SWITCH_FAMILY_ADVICE))
    if not is_available(method, subscription.country):
        raise DomainError(_("This payment method is not available in your country."))
    if family_of(method) != Family.CARD:
        raise DomainError(_("Cash and direct debit subscriptions have no card to update."))
    if method == Method.CARD and not token.strip():
        raise DomainError(_("Enter the new card number."))
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.status in Subscription.CANCELED or locked.status in (
            Subscription.Status.EXPIRED,
            Subscription.Status.INACTIVE,
        ):
            raise InvalidTransition(_("This subscription has ended."))
        locked.method = method
        locked.payment_token = token.strip() or "tok_approved"
        locked.payment_label = card_label(method, token)
        locked.save(update_fields=["method", "payment_token", "payment_label"])
        # An overdue subscription is retried soon with the new card.
        locked.recurrences.filter(
            status=Recurrence.Status.SCHEDULED, next_attempt_at__isnull=False
        ).update(next_attempt_at=timezone.now())
    return locked
