"""A producer, a cocreator and a buyer with `n` rows of everything their pages list: sales
(some through affiliates, split by the real ledger writer), products, contracts, subscriptions
with paid charges, change requests and notifications. The query-count tests load every page on
one world with n = 1 and on another with n = 50."""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from accounts.models import Notification, User
from coproduction.models import ChangeRequest, Contract
from coproduction.services.ledger import ledger_write_splits
from products.models import Affiliation, Plan, Product, Sale
from subscriptions.models import Recurrence, Subscription
from tests.factories import UserFactory
from tests.pagination.builders import contracts, products, users


@dataclass
class World:
    producer: User
    cocreator: User
    buyer: User
    course: Product  # one-time, with the cocreator and n more on it
    club: Product  # subscriptions
    contract: Contract  # the cocreator's on the course

    def person(self, who: str) -> User:
        return getattr(self, who)


def world(n: int) -> World:
    now = timezone.now()
    long_ago = now - timedelta(days=2000)
    producer = UserFactory(validated=True)
    cocreator = UserFactory(validated=True)
    buyer = UserFactory(validated=True)
    course, *others = products(producer, n + 1)
    club = Product.objects.create(
        producer=producer, name="Club", kind=Product.Kind.SUBSCRIPTION, created_at=long_ago
    )
    plan = Plan.objects.create(product=club, name="Monthly", price_minor=4990)
    live = {"status": Contract.Status.ACTIVE, "accepted_at": long_ago, "invited_at": long_ago}
    # 1 % each, so 51 cocreators on the course stay within the share limit.
    contract = contracts([(course, cocreator)], **live, commission_percent=1)[0]
    # n more cocreators on the course; the cocreator on the n other products and the club.
    contracts(((course, person) for person in users(n)), **live, commission_percent=1)
    contracts(((product, cocreator) for product in [*others, club]), **live)
    affiliations = Affiliation.objects.bulk_create(
        Affiliation(
            product=course,
            affiliate=affiliate,
            status=Affiliation.Status.APPROVED,
            commission_percent=20,
            decided_at=long_ago,
        )
        for affiliate in users(n)
    )

    # n sales of the course (every other one through an affiliate) and one of each other
    # product, a month apart, all the buyer's: n rows in Sales, Earnings' months and products,
    # My purchases, Statements.
    rows = [
        (course, affiliations[i] if i % 2 else None, now - timedelta(days=31 * i)) for i in range(n)
    ] + [(product, None, now - timedelta(days=31 * i)) for i, product in enumerate(others)]
    sales = Sale.objects.bulk_create(
        Sale(
            product=product,
            buyer=buyer,
            affiliation=affiliation,
            amount_minor=product.price_minor,
            currency=product.currency,
            method="card",
            country="BR",
            status=Sale.Status.PAID,
            checkout_key=uuid.uuid4().hex,
            created_at=moment,
            paid_at=moment,
        )
        for product, affiliation, moment in rows
    )

    # n subscriptions to the club (the buyer's), each with two paid charges.
    subscriptions = Subscription.objects.bulk_create(
        Subscription(
            product=club,
            plan=plan,
            buyer=buyer,
            status=Subscription.Status.ACTIVE,
            method="card",
            country="BR",
            payment_label="Card •••• 4242",
            anchor_date=(now - timedelta(days=31)).date(),
            next_charge_date=(now + timedelta(days=30)).date(),
            last_number=2,
            paid_count=2,
            checkout_key=uuid.uuid4().hex,
            created_at=now - timedelta(days=31, minutes=i),
        )
        for i in range(n)
    )
    charges = [(s, number) for s in subscriptions for number in (1, 2)]
    charge_sales = Sale.objects.bulk_create(
        Sale(
            product=club,
            buyer=buyer,
            subscription=subscription,
            amount_minor=plan.price_minor,
            currency=club.currency,
            method="card",
            country="BR",
            status=Sale.Status.PAID,
            checkout_key=uuid.uuid4().hex,
            created_at=now - timedelta(days=31 * (2 - number)),
            paid_at=now - timedelta(days=31 * (2 - number)),
        )
        for subscription, number in charges
    )
    Recurrence.objects.bulk_create(
        Recurrence(
            subscription=subscription,
            sale=sale,
            number=number,
            due_date=sale.paid_at.date(),
            amount_minor=plan.price_minor,
            status=Recurrence.Status.PAID,
            paid_at=sale.paid_at,
            window_closes_at=sale.paid_at,
        )
        for (subscription, number), sale in zip(charges, charge_sales, strict=True)
    )
    all_sales = [s.pk for s in [*sales, *charge_sales]]
    assert ledger_write_splits(sale_ids=all_sales) == len(all_sales)

    # n answered change requests on the cocreator's contract (Change History).
    ChangeRequest.objects.bulk_create(
        ChangeRequest(
            contract=contract,
            kind=ChangeRequest.Kind.CHANGE,
            status=ChangeRequest.Status.REFUSED,
            before={"commission_percent": "10.00"},
            after={"commission_percent": f"{11 + i % 50}.00"},
            requested_by=producer if i % 2 else cocreator,
            requested_at=now - timedelta(days=60, hours=-i),
            responded_by=cocreator if i % 2 else producer,
            responded_at=now - timedelta(days=60, hours=-i, minutes=-5),
        )
        for i in range(n)
    )
    # n notifications each (the inbox).
    Notification.objects.bulk_create(
        Notification(
            recipient=person,
            kind=Notification.Kind.RECEIPT,
            key=f"perf-{i}",
            params={"amount_minor": 10000, "currency": "BRL", "product": course.name},
            path=f"/p/{course.pk}/",
            created_at=now - timedelta(minutes=i),
        )
        for person in (producer, cocreator, buyer)
        for i in range(n)
    )
    return World(producer, cocreator, buyer, course, club, contract)
