"""Sales of one-time products: checkout through the gateway, refunds and chargebacks.

Money rule: never call the gateway inside a transaction. Record the attempt and commit, call
with the attempt's idempotency key, then record the outcome (and the ledger) in a transaction."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.exceptions import DomainError, InvalidTransition, PermissionDenied
from accounts.models import User
from accounts.tasks import send_email
from coproduction.services.ledger import ledger_write_reversal, ledger_write_splits
from products.models import Affiliation, Product, Refund, Sale
from products.money import format_money
from subscriptions.gateway import GatewayResult, GatewayTimeout, Outcome, get_gateway
from subscriptions.models import PaymentAttempt
from subscriptions.payment_methods import is_available

# An attempt still "started" after this long is taken to have crashed; it is retried with the
# same idempotency key, so the gateway answers for the first call instead of charging again.
STALE_ATTEMPT = timedelta(minutes=2)

ATTEMPT_STATUS = {
    Outcome.APPROVED: PaymentAttempt.Status.APPROVED,
    Outcome.DECLINED: PaymentAttempt.Status.DECLINED,
    Outcome.INSUFFICIENT_FUNDS: PaymentAttempt.Status.INSUFFICIENT_FUNDS,
    Outcome.ERROR: PaymentAttempt.Status.ERROR,
    Outcome.PENDING: PaymentAttempt.Status.PENDING,
}


# Attempts that ended without taking money: the buyer may try again, with another method too.
REFUSED = (
    PaymentAttempt.Status.DECLINED,
    PaymentAttempt.Status.INSUFFICIENT_FUNDS,
    PaymentAttempt.Status.ERROR,
)


def affiliation_for_code(*, product: Product, code: str | None, buyer: User | None):
    """The approved affiliation a link code names for this product, or None. Never credits a
    buyer for their own purchase, nor a cocreator where the product does not allow it."""
    if not code:
        return None
    affiliation = (
        Affiliation.objects.filter(product=product, code=code, status=Affiliation.Status.APPROVED)
        .select_related("affiliate")
        .first()
    )
    if affiliation is None or (buyer is not None and affiliation.affiliate_id == buyer.pk):
        return None
    if (
        not product.cocreators_may_be_affiliates
        and product.contracts.filter(
            cocreator_id=affiliation.affiliate_id, status="active"
        ).exists()
    ):
        return None
    return affiliation


def sale_start(
    *,
    product: Product,
    buyer: User,
    method: str,
    country: str,
    affiliate_code: str | None,
    checkout_key: str,
) -> Sale:
    """Create the pending sale for a checkout form, or find it again when the same form is
    submitted twice."""
    existing = Sale.objects.filter(checkout_key=checkout_key).first()
    if existing is not None:
        if existing.buyer_id != buyer.pk or existing.product_id != product.pk:
            raise DomainError("This checkout form is not valid any more. Reload the page.")
        return _sale_switch_method(existing, method=method, country=country)
    if product.producer_id == buyer.pk:
        raise DomainError("You are the producer of this product; you cannot buy it.")
    if not product.is_active or product.kind != Product.Kind.ONE_TIME or not product.price_minor:
        raise DomainError("This product is not on sale.")
    if not is_available(method, country):
        raise DomainError("This payment method is not available in your country.")
    try:
        with transaction.atomic():
            return Sale.objects.create(
                product=product,
                buyer=buyer,
                affiliation=affiliation_for_code(product=product, code=affiliate_code, buyer=buyer),
                amount_minor=product.price_minor,
                currency=product.currency,
                method=method,
                country=country.upper(),
                checkout_key=checkout_key,
            )
    except IntegrityError:  # the same form submitted twice at the same instant
        return Sale.objects.get(checkout_key=checkout_key, buyer=buyer)


def _sale_switch_method(sale: Sale, *, method: str, country: str) -> Sale:
    """After a refused payment the buyer may retry the same checkout with another method (the
    gateway's message invites it); the next attempt must use that method, not the first one.
    A payment in flight or waiting for a slip keeps its method."""
    country = country.upper()
    if sale.status != Sale.Status.PENDING or (sale.method, sale.country) == (method, country):
        return sale
    if not is_available(method, country):
        raise DomainError("This payment method is not available in your country.")
    with transaction.atomic():
        sale = Sale.objects.select_for_update().get(pk=sale.pk)
        last = sale.attempts.order_by("-number").first()
        if sale.status == Sale.Status.PENDING and (last is None or last.status in REFUSED):
            sale.method, sale.country = method, country
            sale.save(update_fields=["method", "country"])
    return sale


def sale_pay(*, sale: Sale, token: str) -> Sale:
    """Pay a pending sale. Raises DomainError with the gateway's message when not paid."""
    attempt = _attempt_record(sale)
    gateway = get_gateway()
    try:
        result = gateway.charge(
            idempotency_key=attempt.idempotency_key,
            amount_minor=attempt.amount_minor,
            currency=sale.currency,
            method=attempt.method,
            token=token,
        )
    except GatewayTimeout as exc:
        _attempt_timed_out(attempt)
        raise DomainError(
            f"{exc} Try again: if the first attempt went through, you will not be charged twice."
        ) from None
    sale = payment_record_outcome(attempt=attempt, result=result)
    if result.outcome not in (Outcome.APPROVED, Outcome.PENDING):
        raise DomainError(result.message)
    return sale


def _attempt_record(sale: Sale) -> PaymentAttempt:
    with transaction.atomic():
        sale = Sale.objects.select_for_update().get(pk=sale.pk)
        if sale.status != Sale.Status.PENDING:
            raise InvalidTransition("This purchase is already paid.")
        last = sale.attempts.order_by("-number").first()
        if last is not None and last.status in (
            PaymentAttempt.Status.STARTED,
            PaymentAttempt.Status.TIMEOUT,
        ):
            if (
                last.status == PaymentAttempt.Status.STARTED
                and timezone.now() - last.started_at < STALE_ATTEMPT
            ):
                raise DomainError("Your payment is already being processed. Please wait.")
            # Unknown outcome: ask again with the same key; the gateway never charges twice.
            last.status = PaymentAttempt.Status.STARTED
            last.started_at = timezone.now()
            last.save(update_fields=["status", "started_at"])
            return last
        if last is not None and last.status == PaymentAttempt.Status.PENDING:
            raise DomainError("This purchase is waiting for your payment slip or debit.")
        number = (last.number + 1) if last else 1
        return PaymentAttempt.objects.create(
            sale=sale,
            number=number,
            idempotency_key=f"sale-{sale.pk}-attempt-{number}",
            amount_minor=sale.amount_minor,
            method=sale.method,
        )


def _attempt_timed_out(attempt: PaymentAttempt) -> None:
    PaymentAttempt.objects.filter(pk=attempt.pk, status=PaymentAttempt.Status.STARTED).update(
        status=PaymentAttempt.Status.TIMEOUT, message="No answer from the gateway"
    )


def payment_record_outcome(*, attempt: PaymentAttempt, result: GatewayResult) -> Sale:
    """Record what the gateway answered; on approval mark the sale paid and write its split.
    Idempotent: a second recording of the same attempt changes nothing."""
    with transaction.atomic():
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
        sale = (
            Sale.objects.select_for_update()
            .select_related("product", "buyer")
            .get(pk=attempt.sale_id)
        )
        if attempt.status not in (PaymentAttempt.Status.STARTED, PaymentAttempt.Status.PENDING):
            return sale
        attempt.status = ATTEMPT_STATUS[result.outcome]
        attempt.gateway_reference = result.reference
        attempt.message = result.message[:200]
        attempt.finished_at = timezone.now()
        attempt.save(update_fields=["status", "gateway_reference", "message", "finished_at"])
        if result.paid and sale.status == Sale.Status.PENDING:
            sale.status = Sale.Status.PAID
            sale.paid_at = timezone.now()
            sale.save(update_fields=["status", "paid_at"])
            ledger_write_splits(sale_ids=[sale.pk])
            _email(
                sale.buyer,
                f"Your purchase of {sale.product.name}",
                "products/email/receipt",
                {"sale": sale, "path": reverse("products:purchases")},
            )
    return sale


def sale_refund(
    *, sale: Sale, actor: User, amount_minor: int | None = None, reason: str = ""
) -> Refund:
    """Refund all or part of what is left. The buyer may ask for the whole remainder within
    the product's guarantee period; the producer and platform admins may refund any amount at
    any time. The refund is recorded (reserving the amount), the gateway is called outside the
    transaction, then the reversing ledger entries are written."""
    sale = Sale.objects.select_related("product").get(pk=sale.pk)
    is_buyer = actor.pk == sale.buyer_id
    is_seller = actor.pk == sale.product.producer_id or actor.is_staff
    if not (is_buyer or is_seller):
        raise PermissionDenied("Only the buyer, the producer or an admin can refund this sale.")
    if is_buyer and not is_seller:
        if sale.paid_at is None:  # never paid: no guarantee has started, nothing to give back
            raise InvalidTransition("Nothing is left to refund on this sale.")
        if timezone.now() > sale.paid_at + timedelta(days=sale.product.guarantee_days):
            raise DomainError(
                f"The {sale.product.guarantee_days}-day guarantee period of this purchase is over."
            )
        amount_minor = None  # the buyer's refund is always for everything left
    with transaction.atomic():
        sale = Sale.objects.select_for_update().get(pk=sale.pk)
        left = sale.refundable_minor
        if left <= 0:
            raise InvalidTransition("Nothing is left to refund on this sale.")
        amount = left if amount_minor is None else amount_minor
        if amount <= 0:
            raise DomainError("Enter an amount above zero.")
        if amount > left:
            raise DomainError(
                f"At most {format_money(left, sale.currency)} is left to refund on this sale."
            )
        refund = Refund.objects.create(
            sale=sale, amount_minor=amount, reason=reason[:300], requested_by=actor
        )
        _apply_refund(sale, refund)
    reference = _gateway_refund(sale, refund)
    Refund.objects.filter(pk=refund.pk).update(gateway_reference=reference)
    return refund


def sale_chargeback(*, sale: Sale, actor: User | None, reason: str = "") -> Refund:
    """The card issuer took the money back: reverse everything that is left."""
    with transaction.atomic():
        sale = Sale.objects.select_for_update().get(pk=sale.pk)
        left = sale.refundable_minor
        if left <= 0:
            raise InvalidTransition("Nothing is left to charge back on this sale.")
        refund = Refund.objects.create(
            sale=sale,
            kind=Refund.Kind.CHARGEBACK,
            amount_minor=left,
            reason=reason[:300] or "Chargeback",
            requested_by=actor,
        )
        _apply_refund(sale, refund)
    return refund


def _apply_refund(sale: Sale, refund: Refund) -> None:
    """On a locked sale: reserve the amount, move the status, write the reversing entries."""
    sale.refunded_minor += refund.amount_minor
    if refund.kind == Refund.Kind.CHARGEBACK:
        sale.status = Sale.Status.CHARGED_BACK
    elif sale.refunded_minor == sale.amount_minor:
        sale.status = Sale.Status.REFUNDED
    else:
        sale.status = Sale.Status.PARTIALLY_REFUNDED
    sale.save(update_fields=["refunded_minor", "status"])
    ledger_write_reversal(sale=sale, refund=refund)


def _gateway_refund(sale: Sale, refund: Refund) -> str:
    paid = sale.attempts.filter(status=PaymentAttempt.Status.APPROVED).first()
    return get_gateway().refund(
        idempotency_key=f"refund-{refund.pk}",
        reference=paid.gateway_reference if paid else "",
        amount_minor=refund.amount_minor,
    )


def _email(user: User, subject: str, template: str, context: dict) -> None:
    from django.conf import settings

    context = {**context, "user": user, "url": settings.SITE_URL + context["path"]}
    send_email.delay_on_commit(
        to=user.email,
        subject=subject,
        text=render_to_string(f"{template}.txt", context),
        html=render_to_string(f"{template}.html", context),
    )
