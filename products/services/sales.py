"""Sales of one-time products: checkout through the one payment path (products.payments).

Money rule: never call the gateway inside a transaction. The attempt is recorded and
committed, the gateway called with the attempt's idempotency key, then the outcome recorded
(and the ledger written) by products.payments.services."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.exceptions import DomainError
from accounts.models import Notification, User
from accounts.notifications import GENERIC_EMAIL, notify
from products.models import Affiliation, PaymentAttempt, Product, Sale
from products.payments import keys
from products.payments.gateway import GatewayTimeout
from products.payments.methods import is_available
from products.payments.services import (
    STALE_ATTEMPT,
    AlreadyCharged,
    AttemptPlan,
    Charge,
    attempts_start,
    payments_collect,
)
from products.payments.slips import is_cash, slip_days
from products.services.refunds import sale_chargeback, sale_refund  # noqa: F401 (re-exported)


def affiliation_for_code(*, product: Product, code: str | None, buyer: User | None):
    """The approved affiliation a link code names for this product, or None. Never credits a
    buyer for their own purchase, nor a cocreator where the product does not allow it (the
    split decides that again when the charge is paid)."""
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
    checkout_token: str,
) -> Sale:
    """Create the pending sale for a checkout form, or find it again when the same form is
    submitted twice. The key comes from a token this server issued to this buyer."""
    checkout_key = keys.checkout_key(buyer_id=buyer.pk, token=checkout_token)
    existing = Sale.objects.filter(checkout_key=checkout_key).first()
    if existing is not None:
        if existing.product_id != product.pk:
            raise DomainError(keys.FORM_EXPIRED)
        return _sale_switch_method(existing, method=method, country=country)
    if product.producer_id == buyer.pk:
        raise DomainError(_("You are the producer of this product; you cannot buy it."))
    if not product.is_active or product.kind != Product.Kind.ONE_TIME or not product.price_minor:
        raise DomainError(_("This product is not on sale."))
    if not is_available(method, country):
        raise DomainError(_("This payment method is not available in your country."))
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
        raise DomainError(_("This payment method is not available in your country."))
    with transaction.atomic():
        sale = Sale.objects.select_for_update(of=("self",)).get(pk=sale.pk)
        last = sale.attempts.order_by("-number").first()
        if sale.status == Sale.Status.PENDING and (
            last is None or last.status in PaymentAttempt.REFUSED
        ):
            sale.method, sale.country = method, country
            sale.save(update_fields=["method", "country"])
    return sale


def sale_pay(*, sale: Sale, token: str) -> Sale:
    """Pay a pending sale. Raises DomainError with the gateway's message when not paid."""
    with transaction.atomic():
        sale = Sale.objects.select_for_update(of=("self",)).get(pk=sale.pk)
        if sale.status == Sale.Status.EXPIRED:
            raise DomainError(_("This purchase expired unpaid. Start a new checkout to buy again."))
        if not sale.can_pay:
            raise AlreadyCharged(_("This purchase is already paid."))
        [attempts] = attempts_start(
            plans=[AttemptPlan(sale.pk, (sale.amount_minor,), sale.method)],
            fresh_after=timezone.now() - STALE_ATTEMPT,
        )
    try:
        outcome = payments_collect(
            [Charge(attempt=a, currency=sale.currency, token=token) for a in attempts]
        )[sale.pk]
    except GatewayTimeout:  # a gateway that raises instead of answering per request
        outcome = "lost"
    sale.refresh_from_db()
    if outcome == "lost":
        raise DomainError(
            _(
                "The payment service did not answer in time. Try again: if the first attempt "
                "went through, you will not be charged twice."
            )
        )
    if outcome in ("paid", "awaiting", "settled", "attention"):
        return sale
    last = sale.attempts.order_by("-number").first()
    # The gateway's message is stored in English (products.payments.gateway.MESSAGES) and
    # translated here; a message the catalog does not know is shown as the gateway wrote it.
    raise DomainError(_(last.message) if last and last.message else _("The payment was not made."))


def receipt_send_later(*, sale: Sale) -> None:
    """From inside the payment's transaction: the receipt is written once it commits, in a
    task, so paying never waits on the buyer's row (the inbox row's foreign key would)."""
    from products.tasks import send_receipt

    pk = sale.pk
    transaction.on_commit(lambda: send_receipt.delay(pk))


def slip_told(*, sale: Sale) -> None:
    """A one-time sale's cash slip was issued: the buyer finds it in the inbox and by email.
    (A recurrence's slip is told by subscriptions.services.notices.)"""
    if sale.subscription_id or not is_cash(sale.method):
        return
    notify(
        sale.buyer,
        Notification.Kind.SLIP_ISSUED,
        key=f"sale:{sale.pk}",
        params={"product": sale.product.name},
        path=reverse("products:slip", args=[sale.pk]),
        email=GENERIC_EMAIL,
    )


def slips_remind(*, now=None) -> int:
    """Beat: the day before a one-time sale's slip expires, remind the buyer, once."""
    now = now or timezone.now()
    issued_after = now - timedelta(days=slip_days())
    due = (
        PaymentAttempt.objects.filter(
            status=PaymentAttempt.Status.PENDING,
            sale__subscription__isnull=True,
            sale__status=Sale.Status.PENDING,
            started_at__gt=issued_after,
            started_at__lte=issued_after + timedelta(days=1),
        )
        .select_related("sale__product", "sale__buyer")
        .order_by("pk")
    )
    told = 0
    for attempt in due.iterator(chunk_size=500):
        sale = attempt.sale
        if not is_cash(sale.method):
            continue
        with transaction.atomic():
            told += notify(
                sale.buyer,
                Notification.Kind.SLIP_EXPIRING,
                key=f"sale:{sale.pk}:{attempt.number}",
                params={"product": sale.product.name},
                path=reverse("products:slip", args=[sale.pk]),
                email=GENERIC_EMAIL,
            )
    return told


def receipt_send(*, sale: Sale) -> None:
    """The buyer's receipt for a paid one-time sale: in the inbox and by email, once."""
    sale = Sale.objects.select_related("product", "buyer").get(pk=sale.pk)
    notify(
        sale.buyer,
        Notification.Kind.RECEIPT,
        key=f"sale:{sale.pk}",
        params={
            "product": sale.product.name,
            "amount_minor": sale.amount_minor,
            "currency": sale.currency,
        },
        path=reverse("products:purchase", args=[sale.pk]),
        email="products/email/receipt",
        email_context={"sale": sale},
    )
