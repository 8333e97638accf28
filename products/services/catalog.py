"""The catalog: products, plans and affiliations; each write in its own transaction."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.exceptions import DomainError, InvalidTransition
from accounts.models import Notification, User
from accounts.notifications import notify
from products.models import Affiliation, Plan, Product
from products.money import price_range_error

PRODUCT_FIELDS = (
    "name",
    "description",
    "currency",
    "kind",
    "price_minor",
    "is_active",
    "cocreators_may_be_affiliates",
    "affiliate_commission_percent",
    "guarantee_days",
)
PLAN_FIELDS = (
    "name",
    "periodicity",
    "price_minor",
    "promo_first_price_minor",
    "installments",
    "is_active",
)


def product_create(*, producer: User, **fields) -> Product:
    """A new product; a one-time product's price must lie in its currency's range."""
    product = Product(producer=producer, **_only(fields, PRODUCT_FIELDS))
    if product.kind == Product.Kind.SUBSCRIPTION:
        product.price_minor = None
    else:
        _check_product_price(product.price_minor, product.currency)
    product.save()
    return product


def product_update(*, product: Product, **fields) -> Product:
    """Edit a product; the currency and kind are fixed once it has plans or affiliates.
    A one-time price that is set, or whose currency or kind changes, must be in range."""
    with transaction.atomic():
        locked = Product.objects.select_for_update(no_key=True).get(pk=product.pk)
        changes = _only(fields, PRODUCT_FIELDS)
        if changes.get("kind", locked.kind) == Product.Kind.SUBSCRIPTION:
            changes["price_minor"] = None
        elif {"price_minor", "currency", "kind"} & changes.keys():
            _check_product_price(
                changes.get("price_minor", locked.price_minor),
                changes.get("currency", locked.currency),
            )
        if locked.plans.exists() and (
            changes.get("currency", locked.currency) != locked.currency
            or changes.get("kind", locked.kind) != locked.kind
        ):
            raise DomainError(_("The currency and type cannot change once the product has plans."))
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*changes, "updated_at"])
    return locked


def plan_create(*, product: Product, **fields) -> Plan:
    if not product.is_subscription:
        raise DomainError(_("Only subscription products have plans."))
    values = _only(fields, PLAN_FIELDS)
    if values.get("price_minor") is None:
        raise DomainError(_("A plan needs a price."))
    _check_plan_prices(values, product.currency)
    return Plan.objects.create(product=product, **values)


def plan_update(*, plan: Plan, **fields) -> Plan:
    """Edit a plan; a price or promotional first installment that is set must be in range."""
    changes = _only(fields, PLAN_FIELDS)
    _check_plan_prices(changes, plan.product.currency)
    for name, value in changes.items():
        setattr(plan, name, value)
    plan.save(update_fields=list(changes))
    return plan


def _check_product_price(amount_minor: int | None, currency: str) -> None:
    if amount_minor is None:
        raise DomainError(_("A one-time product needs a price."))
    _check_price(amount_minor, currency)


def _check_price(amount_minor: int, currency: str, *, free_allowed: bool = False) -> None:
    """The forms' price rule (products.money.price_range_error), held without a form too."""
    error = price_range_error(amount_minor, currency, free_allowed=free_allowed)
    if error:
        raise DomainError(error)


def _check_plan_prices(values: dict, currency: str) -> None:
    # Only the prices being set: a saved price that limits changed since is left alone.
    if values.get("price_minor") is not None:
        _check_price(values["price_minor"], currency)
    if values.get("promo_first_price_minor") is not None:
        _check_price(values["promo_first_price_minor"], currency, free_allowed=True)


def affiliation_request(*, product: Product, user: User) -> Affiliation:
    """A user asks to promote a product; a refused or revoked user may ask again."""
    if product.producer_id == user.pk:
        raise DomainError(_("You are the producer of this product; you cannot be its affiliate."))
    if not product.is_active:
        raise DomainError(_("This product is not accepting affiliates."))
    with transaction.atomic():
        existing = (
            Affiliation.objects.select_for_update().filter(product=product, affiliate=user).first()
        )
        if existing is None:
            try:
                with transaction.atomic():
                    affiliation = Affiliation.objects.create(
                        product=product,
                        affiliate=user,
                        commission_percent=product.affiliate_commission_percent or Decimal("1"),
                    )
            except IntegrityError:
                raise DomainError(
                    _("You have already asked to affiliate to this product.")
                ) from None
        else:
            if existing.status in (Affiliation.Status.PENDING, Affiliation.Status.APPROVED):
                raise DomainError(
                    _("You are already an affiliate of this product.")
                    if existing.status == Affiliation.Status.APPROVED
                    else _("Your request is already waiting for the producer.")
                )
            affiliation = _affiliation_transition(existing, Affiliation.Status.PENDING)
            affiliation.requested_at = timezone.now()
            affiliation.decided_at = None
            affiliation.save(update_fields=["requested_at", "decided_at"])
        notify(
            product.producer,
            Notification.Kind.AFFILIATION_REQUESTED,
            key=f"affiliation:{affiliation.pk}:{affiliation.requested_at:%Y%m%d%H%M%S%f}",
            params={"product": product.name},
            path=reverse("products:affiliates", args=[product.pk]),
            email="products/email/affiliation_requested",
            email_context={"affiliation": affiliation},
        )
    return affiliation


def affiliation_decide(*, affiliation: Affiliation, to: str, actor: User) -> Affiliation:
    """The producer approves, refuses or revokes; the affiliate is told by email."""
    with transaction.atomic():
        locked = (
            Affiliation.objects.select_for_update().select_related("product").get(pk=affiliation.pk)
        )
        if locked.product.producer_id != actor.pk:
            raise DomainError(_("Only the product's producer decides on its affiliates."))
        # Back to pending is the affiliate's own re-request (affiliation_request), not a decision.
        if to == Affiliation.Status.PENDING:
            raise InvalidTransition(_("A decision approves, refuses or revokes an affiliation."))
        locked = _affiliation_transition(locked, to)
        locked.decided_at = timezone.now()
        locked.save(update_fields=["decided_at"])
        notify(
            locked.affiliate,
            Notification.Kind.AFFILIATION_DECIDED,
            key=f"affiliation:{locked.pk}:{locked.decided_at:%Y%m%d%H%M%S%f}",
            params={"product": locked.product.name, "status": locked.status},
            path=reverse("products:my_affiliations"),
            email="products/email/affiliation_decided",
            email_context={"affiliation": locked},
        )
    return locked


def affiliation_set_commission(
    *, affiliation: Affiliation, percent: Decimal, actor: User
) -> Affiliation:
    if affiliation.product.producer_id != actor.pk:
        raise DomainError(_("Only the product's producer sets commissions."))
    affiliation.commission_percent = percent
    affiliation.save(update_fields=["commission_percent"])
    return affiliation


def _affiliation_transition(affiliation: Affiliation, to: str) -> Affiliation:
    current = Affiliation.Status(affiliation.status)
    if to not in Affiliation.TRANSITIONS[current]:
        raise InvalidTransition(
            _("An affiliation that is %(current)s cannot become %(to)s.")
            % {"current": current.label.lower(), "to": Affiliation.Status(to).label.lower()}
        )
    affiliation.status = to
    affiliation.save(update_fields=["status"])
    return affiliation


def _only(fields: dict, allowed: tuple[str, ...]) -> dict:
    return {name: value for name, value in fields.items() if name in allowed}
