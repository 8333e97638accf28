"""Product, plan and affiliation services: the rules they enforce and the emails they send."""

import itertools
from decimal import Decimal

import pytest
from django.core import mail

from accounts.exceptions import DomainError, InvalidTransition
from products import services
from products.models import Affiliation, Plan, Product
from tests.factories import AffiliationFactory, PlanFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

STATUSES = list(Affiliation.Status)


def product_fields(**overrides) -> dict:
    fields = {
        "name": "Course",
        "description": "Learn things.",
        "currency": "BRL",
        "kind": Product.Kind.ONE_TIME,
        "price_minor": 19700,
        "is_active": True,
        "cocreators_may_be_affiliates": False,
        "affiliate_commission_percent": Decimal("35"),
        "guarantee_days": 7,
    }
    return {**fields, **overrides}


# Products


def test_product_create_stores_a_one_time_product_with_its_price():
    producer = UserFactory(validated=True)

    product = services.product_create(producer=producer, **product_fields())

    product.refresh_from_db()
    assert product.producer == producer
    assert product.kind == Product.Kind.ONE_TIME
    assert product.price_minor == 19700
    assert product.affiliate_commission_percent == Decimal("35")


def test_product_create_ignores_a_price_for_a_subscription_product():
    product = services.product_create(
        producer=UserFactory(validated=True),
        **product_fields(kind=Product.Kind.SUBSCRIPTION, price_minor=5000),
    )

    product.refresh_from_db()
    assert product.is_subscription
    assert product.price_minor is None


def test_product_create_drops_fields_it_does_not_own():
    producer = UserFactory(validated=True)
    other = UserFactory(validated=True)

    product = services.product_create(producer=producer, **product_fields(producer_id=other.pk))

    assert product.producer == producer


def test_product_update_changes_fields():
    product = ProductFactory(price_minor=1000)

    services.product_update(product=product, name="Renamed", price_minor=2500, currency="USD")

    product.refresh_from_db()
    assert (product.name, product.price_minor, product.currency) == ("Renamed", 2500, "USD")


def test_product_update_to_subscription_clears_the_price():
    product = ProductFactory(price_minor=1000)

    services.product_update(product=product, kind=Product.Kind.SUBSCRIPTION, price_minor=1000)

    product.refresh_from_db()
    assert product.is_subscription
    assert product.price_minor is None


@pytest.mark.parametrize(
    "change",
    [{"currency": "USD"}, {"kind": Product.Kind.ONE_TIME, "price_minor": 1000}],
    ids=["currency", "kind"],
)
def test_product_update_refuses_currency_or_kind_change_once_plans_exist(change):
    plan = PlanFactory()
    product = plan.product

    with pytest.raises(DomainError, match="cannot change once the product has plans"):
        services.product_update(product=product, **change)

    product.refresh_from_db()
    assert product.currency == "BRL"
    assert product.kind == Product.Kind.SUBSCRIPTION


def test_product_update_keeps_allowing_other_changes_once_plans_exist():
    product = PlanFactory().product

    services.product_update(product=product, name="Still editable", currency="BRL")

    product.refresh_from_db()
    assert product.name == "Still editable"


# Plans


def test_plan_create_adds_a_plan_to_a_subscription_product():
    product = ProductFactory(subscription=True)

    plan = services.plan_create(
        product=product,
        name="Yearly",
        periodicity=Plan.Periodicity.YEARLY,
        price_minor=49900,
        promo_first_price_minor=9900,
        installments=12,
        is_active=True,
    )

    plan.refresh_from_db()
    assert plan.product == product
    assert (plan.price_minor, plan.promo_first_price_minor, plan.installments) == (49900, 9900, 12)


def test_plan_create_refuses_a_one_time_product():
    product = ProductFactory()

    with pytest.raises(DomainError, match="Only subscription products have plans"):
        services.plan_create(product=product, name="Monthly", price_minor=1000)

    assert not Plan.objects.exists()


def test_plan_update_changes_fields():
    plan = PlanFactory(price_minor=1000)

    services.plan_update(plan=plan, name="Monthly plus", price_minor=1500)

    plan.refresh_from_db()
    assert (plan.name, plan.price_minor) == ("Monthly plus", 1500)


# Affiliation requests


def test_affiliation_request_creates_a_pending_affiliation_and_emails_the_producer(
    django_capture_on_commit_callbacks,
):
    product = ProductFactory(affiliate_commission_percent=Decimal("35"))
    user = UserFactory(validated=True)

    with django_capture_on_commit_callbacks(execute=True):
        affiliation = services.affiliation_request(product=product, user=user)

    assert affiliation.status == Affiliation.Status.PENDING
    assert affiliation.commission_percent == Decimal("35")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [product.producer.email]
    assert mail.outbox[0].subject == f"[Coprod] New affiliation request for {product.name}"
    assert f"/products/{product.pk}/affiliates/" in mail.outbox[0].body


def test_affiliation_request_refuses_the_producer_of_the_product():
    product = ProductFactory()

    with pytest.raises(DomainError, match="cannot be its affiliate"):
        services.affiliation_request(product=product, user=product.producer)

    assert not Affiliation.objects.exists()


def test_affiliation_request_refuses_an_inactive_product():
    product = ProductFactory(is_active=False)

    with pytest.raises(DomainError, match="not accepting affiliates"):
        services.affiliation_request(product=product, user=UserFactory(validated=True))

    assert not Affiliation.objects.exists()


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (Affiliation.Status.PENDING, "already waiting"),
        (Affiliation.Status.APPROVED, "already an affiliate"),
    ],
)
def test_affiliation_request_refuses_a_duplicate(status, message):
    existing = AffiliationFactory(status=status)

    with pytest.raises(DomainError, match=message):
        services.affiliation_request(product=existing.product, user=existing.affiliate)

    assert Affiliation.objects.get().status == status


@pytest.mark.parametrize("status", [Affiliation.Status.REFUSED, Affiliation.Status.REVOKED])
def test_affiliation_request_lets_a_refused_or_revoked_affiliate_ask_again(status):
    existing = AffiliationFactory(status=status, decided_at="2026-01-01T00:00:00Z")

    affiliation = services.affiliation_request(product=existing.product, user=existing.affiliate)

    affiliation.refresh_from_db()
    assert affiliation.pk == existing.pk
    assert affiliation.status == Affiliation.Status.PENDING
    assert affiliation.decided_at is None
    assert affiliation.requested_at > existing.requested_at


def test_affiliation_request_falls_back_to_one_percent_when_the_product_offers_zero():
    product = ProductFactory(affiliate_commission_percent=Decimal("0"))

    affiliation = services.affiliation_request(product=product, user=UserFactory(validated=True))

    assert affiliation.commission_percent == Decimal("1")


def test_each_affiliation_gets_its_own_code():
    product = ProductFactory()
    affiliations = [
        services.affiliation_request(product=product, user=UserFactory(validated=True))
        for _ in range(20)
    ]

    codes = {affiliation.code for affiliation in affiliations}
    assert len(codes) == 20
    assert all(len(code) == 10 and code.isalnum() for code in codes)


# Affiliation decisions

DECISION_TARGETS = [
    Affiliation.Status.APPROVED,
    Affiliation.Status.REFUSED,
    Affiliation.Status.REVOKED,
]
DECISIONS = list(itertools.product(STATUSES, DECISION_TARGETS))
LEGAL_DECISIONS = [(a, b) for a, b in DECISIONS if b in Affiliation.TRANSITIONS[a]]
ILLEGAL_DECISIONS = [(a, b) for a, b in DECISIONS if b not in Affiliation.TRANSITIONS[a]]


def test_the_transition_table_covers_every_status():
    assert set(Affiliation.TRANSITIONS) == set(STATUSES)
    assert all(targets <= set(STATUSES) for targets in Affiliation.TRANSITIONS.values())
    # Moving back to pending is the affiliate's re-request, never a producer's decision.
    assert {(a, b) for a, targets in Affiliation.TRANSITIONS.items() for b in targets} - set(
        LEGAL_DECISIONS
    ) == {
        (Affiliation.Status.REFUSED, Affiliation.Status.PENDING),
        (Affiliation.Status.REVOKED, Affiliation.Status.PENDING),
    }


@pytest.mark.parametrize(("current", "to"), LEGAL_DECISIONS)
def test_affiliation_decide_makes_every_legal_move_and_emails_the_affiliate(
    current, to, django_capture_on_commit_callbacks
):
    affiliation = AffiliationFactory(status=current)
    producer = affiliation.product.producer

    with django_capture_on_commit_callbacks(execute=True):
        result = services.affiliation_decide(affiliation=affiliation, to=to, actor=producer)

    affiliation.refresh_from_db()
    assert result.status == affiliation.status == to
    assert affiliation.decided_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [affiliation.affiliate.email]
    assert mail.outbox[0].subject == (
        f"[Coprod] Your affiliation to {affiliation.product.name}: {to.label}"
    )


def test_an_approval_email_carries_the_affiliate_link(django_capture_on_commit_callbacks):
    affiliation = AffiliationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        services.affiliation_decide(
            affiliation=affiliation,
            to=Affiliation.Status.APPROVED,
            actor=affiliation.product.producer,
        )

    assert f"?a={affiliation.code}" in mail.outbox[0].body


@pytest.mark.parametrize(("current", "to"), ILLEGAL_DECISIONS)
def test_affiliation_decide_refuses_every_illegal_move(
    current, to, django_capture_on_commit_callbacks
):
    affiliation = AffiliationFactory(status=current)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidTransition):
        services.affiliation_decide(
            affiliation=affiliation, to=to, actor=affiliation.product.producer
        )

    affiliation.refresh_from_db()
    assert affiliation.status == current
    assert affiliation.decided_at is None
    assert mail.outbox == []


@pytest.mark.parametrize(
    "current", [Affiliation.Status.REFUSED, Affiliation.Status.REVOKED, Affiliation.Status.PENDING]
)
def test_affiliation_decide_never_moves_back_to_pending(current):
    affiliation = AffiliationFactory(status=current)

    with pytest.raises(InvalidTransition):
        services.affiliation_decide(
            affiliation=affiliation,
            to=Affiliation.Status.PENDING,
            actor=affiliation.product.producer,
        )

    affiliation.refresh_from_db()
    assert affiliation.status == current


@pytest.mark.parametrize("who", ["affiliate", "stranger"])
def test_only_the_producer_decides_on_an_affiliation(who, django_capture_on_commit_callbacks):
    affiliation = AffiliationFactory()
    actor = affiliation.affiliate if who == "affiliate" else UserFactory(validated=True)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DomainError):
        services.affiliation_decide(
            affiliation=affiliation, to=Affiliation.Status.APPROVED, actor=actor
        )

    affiliation.refresh_from_db()
    assert affiliation.status == Affiliation.Status.PENDING
    assert mail.outbox == []


def test_affiliation_set_commission_saves_the_percent():
    affiliation = AffiliationFactory(approved=True)

    services.affiliation_set_commission(
        affiliation=affiliation, percent=Decimal("42.5"), actor=affiliation.product.producer
    )

    affiliation.refresh_from_db()
    assert affiliation.commission_percent == Decimal("42.50")


def test_only_the_producer_sets_a_commission():
    affiliation = AffiliationFactory(approved=True)

    with pytest.raises(DomainError):
        services.affiliation_set_commission(
            affiliation=affiliation, percent=Decimal("80"), actor=affiliation.affiliate
        )

    affiliation.refresh_from_db()
    assert affiliation.commission_percent == Decimal("30")
