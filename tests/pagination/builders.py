"""Rows in bulk for the pagination tests: n of whatever a list shows, for one person, with a
few rows its filter must leave out. Each builder returns the list's viewer, URL and filters."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification, User
from coproduction.models import ChangeRequest, Contract, ContractEvent
from coproduction.services.ledger import ledger_write_splits
from products.models import Affiliation, Plan, Product, Sale
from subscriptions.models import Recurrence, Subscription, SubscriptionEvent
from tests.coproduction.factories import ContractFactory, terms_of_use
from tests.factories import ProductFactory, UserFactory


@dataclass
class Built:
    viewer: User
    url: str
    filters: dict = field(default_factory=dict)


def users(count: int) -> list[User]:
    tag = uuid.uuid4().hex[:8]
    return User.objects.bulk_create(
        User(email=f"pg-{tag}-{i}@example.com", full_name=f"Person {i}") for i in range(count)
    )


def products(producer: User, count: int, **fields) -> list[Product]:
    tag = uuid.uuid4().hex[:6]
    values = {"currency": "BRL", "kind": Product.Kind.ONE_TIME, "price_minor": 10000, **fields}
    return Product.objects.bulk_create(
        Product(producer=producer, name=f"Pg-{tag}-{i:03}", description="-", **values)
        for i in range(count)
    )


def contracts(pairs, **fields) -> list[Contract]:
    """One contract per (product, cocreator) pair."""
    terms = terms_of_use()
    values = {
        "role": Contract.Role.EXPERT,
        "status": Contract.Status.PENDING,
        "sales_scope": Contract.SalesScope.ALL,
        "commission_percent": 10,
        "coproduction_model": Contract.CoproductionModel.REVENUE_SHARE,
        **fields,
    }
    return Contract.objects.bulk_create(
        Contract(product=product, cocreator=cocreator, terms=terms, **values)
        for product, cocreator in pairs
    )


def paid_sales(products_and_moments, buyer: User | None = None) -> list[Sale]:
    """A paid sale per (product, moment), split by the real ledger service in one batch."""
    buyer = buyer or UserFactory()
    sales = Sale.objects.bulk_create(
        Sale(
            product=product,
            buyer=buyer,
            amount_minor=product.price_minor,
            currency=product.currency,
            method="card",
            country="BR",
            status=Sale.Status.PAID,
            checkout_key=uuid.uuid4().hex,
            created_at=moment,
            paid_at=moment,
        )
        for product, moment in products_and_moments
    )
    assert ledger_write_splits(sale_ids=[s.pk for s in sales]) == len(sales)
    return sales


# --------------------------------------------------------------------------- one per list


def my_products(n: int) -> Built:
    producer = UserFactory(validated=True)
    products(producer, n)
    ProductFactory()  # someone else's
    return Built(producer, reverse("products:my_products"))


def affiliates(n: int) -> Built:
    product = ProductFactory()
    Affiliation.objects.bulk_create(
        Affiliation(product=product, affiliate=user, commission_percent=30) for user in users(n)
    )
    return Built(product.producer, reverse("products:affiliates", args=[product.pk]))


def my_affiliations(n: int) -> Built:
    affiliate = UserFactory(validated=True)
    owner = UserFactory(validated=True)
    Affiliation.objects.bulk_create(
        Affiliation(product=product, affiliate=affiliate, commission_percent=30)
        for product in products(owner, n)
    )
    return Built(affiliate, reverse("products:my_affiliations"))


def coproduction_index(n: int) -> Built:
    producer = UserFactory(validated=True)
    products(producer, n)
    Product.objects.create(producer=producer, name="Another thing", price_minor=10000)
    return Built(producer, reverse("coproduction:index"), {"q": "pg-"})


def product_contracts(n: int) -> Built:
    product = ProductFactory()
    contracts((product, cocreator) for cocreator in users(n))
    return Built(product.producer, reverse("coproduction:product", args=[product.pk]))


def cocreator_confirmed(n: int) -> Built:
    cocreator = UserFactory(validated=True)
    owner = UserFactory(validated=True)
    contracts(
        ((product, cocreator) for product in products(owner, n)),
        status=Contract.Status.ACTIVE,
        accepted_at=timezone.now(),
    )
    contracts([(ProductFactory(), cocreator)])  # an invitation: the other tab
    return Built(cocreator, reverse("coproduction:cocreator"), {"tab": "confirmed"})


def _history_contract() -> Contract:
    return ContractFactory(active=True, accepted_at=timezone.now() - timedelta(days=90))


def history_changes(n: int) -> Built:
    contract = _history_contract()
    producer = contract.product.producer
    start = timezone.now() - timedelta(days=60)
    ChangeRequest.objects.bulk_create(
        ChangeRequest(
            contract=contract,
            kind=ChangeRequest.Kind.CHANGE,
            status=ChangeRequest.Status.REFUSED,
            before={"commission_percent": "10.00"},
            after={"commission_percent": f"{11 + i % 50}.00"},
            requested_by=producer,
            requested_at=start + timedelta(hours=i),
            responded_by=contract.cocreator,
            responded_at=start + timedelta(hours=i, minutes=5),
        )
        for i in range(n)
    )
    return Built(producer, reverse("coproduction:history", args=[contract.pk]))


def history_events(n: int) -> Built:
    contract = _history_contract()
    start = timezone.now() - timedelta(days=60)
    ContractEvent.objects.bulk_create(
        ContractEvent(
            contract=contract,
            actor=contract.cocreator,
            action="accepted",
            from_status="pending",
            to_status="active",
            created_at=start + timedelta(hours=i),
        )
        for i in range(n)
    )
    return Built(contract.cocreator, reverse("coproduction:history", args=[contract.pk]))


def sales(n: int) -> Built:
    producer = UserFactory(validated=True)
    product, other = products(producer, 2)
    now = timezone.now()
    paid_sales([(product, now - timedelta(minutes=i)) for i in range(n)])
    paid_sales([(other, now)])  # the product filter leaves it out
    return Built(
        producer, reverse("products:sales"), {"role": "producer", "product": str(product.pk)}
    )


def _earnings(n: int) -> Built:
    """n products, each sold once in a different month: n rows in both earnings tables."""
    producer = UserFactory(validated=True)
    moments = [datetime(2020 + (i // 12), i % 12 + 1, 15, 12, tzinfo=UTC) for i in range(n)]
    paid_sales(zip(products(producer, n), moments, strict=True))
    return Built(producer, reverse("products:earnings"))


def earnings_products(n: int) -> Built:
    built = _earnings(n)
    built.filters = {"month_page": "1"}  # the other table's page is kept
    return built


def earnings_months(n: int) -> Built:
    built = _earnings(n)
    built.filters = {"product_page": "1"}
    return built


def inbox(n: int) -> Built:
    user = UserFactory()
    Kind = Notification.Kind
    now = timezone.now()
    Notification.objects.bulk_create(
        Notification(
            recipient=user,
            kind=Kind.SUBSCRIPTION_OVERDUE,
            key=f"pg-{i}",
            params={"product": "Course", "name": "Ana"},
            path="/subscriptions/7/",
            created_at=now - timedelta(minutes=i),
        )
        for i in range(n)
    )
    Notification.objects.create(  # another group: the filter leaves it out
        recipient=user, kind=Kind.INVITATION, key="other", params={"product": "Course"}
    )
    return Built(user, reverse("accounts:inbox"), {"group": "payments"})


def purchases(n: int) -> Built:
    buyer = UserFactory()
    shop = products(UserFactory(validated=True), 1)[0]
    now = timezone.now()
    paid_sales([(shop, now - timedelta(minutes=i)) for i in range(n)], buyer=buyer)
    paid_sales([(shop, now)])  # another buyer's
    return Built(buyer, reverse("products:purchases"))


def _subscriptions(plan: Plan, buyers, status: str) -> list[Subscription]:
    now = timezone.now()
    made = Subscription.objects.bulk_create(
        Subscription(
            product=plan.product,
            plan=plan,
            buyer=buyer,
            status=status,
            method="card",
            country="BR",
            payment_label="Card •••• 4242",
            anchor_date=now.date(),
            next_charge_date=now.date() + timedelta(days=30),
            last_number=1,
            paid_count=1,
            checkout_key=uuid.uuid4().hex,
            created_at=now - timedelta(minutes=i),
        )
        for i, buyer in enumerate(buyers)
    )
    # Each with its first installment, drawn in the subscriber list's Charges column.
    _paid_charges(plan, [(subscription, 1) for subscription in made])
    return made


def _paid_charges(plan: Plan, charges) -> None:
    """A paid sale and its recurrence for each (subscription, number) of `charges`, due a
    month apart."""
    now = timezone.now()
    sales = Sale.objects.bulk_create(
        Sale(
            product=plan.product,
            buyer=subscription.buyer,
            subscription=subscription,
            amount_minor=plan.price_minor,
            currency=plan.product.currency,
            method="card",
            country="BR",
            status=Sale.Status.PAID,
            checkout_key=uuid.uuid4().hex,
            paid_at=now,
        )
        for subscription, _ in charges
    )
    Recurrence.objects.bulk_create(
        Recurrence(
            subscription=subscription,
            sale=sale,
            number=number,
            due_date=now.date() + timedelta(days=30 * (number - 1)),
            amount_minor=plan.price_minor,
            status=Recurrence.Status.PAID,
            paid_at=now,
            window_closes_at=now,
        )
        for (subscription, number), sale in zip(charges, sales, strict=True)
    )


def _plan() -> Plan:
    product = Product.objects.create(
        producer=UserFactory(validated=True), name="Pg club", kind=Product.Kind.SUBSCRIPTION
    )
    return Plan.objects.create(product=product, name="Monthly", price_minor=4990)


def subscribers(n: int) -> Built:
    plan = _plan()
    _subscriptions(plan, users(n), Subscription.Status.ACTIVE)
    _subscriptions(plan, users(2), Subscription.Status.OVERDUE)  # the filter leaves them out
    return Built(
        plan.product.producer,
        reverse("subscriptions:subscribers", args=[plan.product.pk]),
        {"status": Subscription.Status.ACTIVE},
    )


def my_subscriptions(n: int) -> Built:
    buyer = UserFactory()
    plan = _plan()
    _subscriptions(plan, [buyer] * n, Subscription.Status.ACTIVE)
    return Built(buyer, reverse("subscriptions:mine"))


def _subscription_with_charges(n: int) -> Subscription:
    """One subscription whose n monthly charges were all paid (number 1 to n)."""
    plan = _plan()
    subscription = _subscriptions(plan, [UserFactory()], Subscription.Status.ACTIVE)[0]
    _paid_charges(plan, [(subscription, number) for number in range(2, n + 1)])
    return subscription


def subscription_charges(n: int) -> Built:
    subscription = _subscription_with_charges(n)
    return Built(subscription.buyer, reverse("subscriptions:detail", args=[subscription.pk]))


def subscription_events(n: int) -> Built:
    subscription = _subscription_with_charges(1)
    start = timezone.now() - timedelta(days=60)
    SubscriptionEvent.objects.bulk_create(
        SubscriptionEvent(
            subscription=subscription,
            from_status="active",
            to_status="overdue" if i % 2 else "active",
            created_at=start + timedelta(hours=i),
        )
        for i in range(n)
    )
    return Built(subscription.buyer, reverse("subscriptions:detail", args=[subscription.pk]))
