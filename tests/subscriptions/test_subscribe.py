"""Checkout of a plan: the first installment charged at once (promo price, two cards), the
double submit, methods per country, and changing the card within its family."""

from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.db.models import Sum

from accounts.exceptions import DomainError, InvalidTransition, PermissionDenied
from coproduction.models import LedgerEntry
from products.models import PaymentAttempt, Plan, Sale, SimulatedGatewayCharge
from subscriptions.models import Recurrence, Subscription
from subscriptions.schedule import due_date
from subscriptions.services.subscribe import SWITCH_FAMILY_ADVICE, subscription_update_payment
from tests.factories import (
    AffiliationFactory,
    PlanFactory,
    ProductFactory,
    UserFactory,
    checkout_token,
)
from tests.subscriptions.factories import (
    APPROVED,
    DECLINED,
    INSUFFICIENT,
    TIMEOUT,
    SubscriptionFactory,
    at,
    charges_for,
    subscribe,
)

pytestmark = pytest.mark.django_db

S = Subscription.Status


def first(subscription: Subscription) -> Recurrence:
    return subscription.recurrences.select_related("sale").get(number=1)


def ledger_total(sale) -> int:
    return LedgerEntry.objects.filter(sale=sale).aggregate(total=Sum("amount_minor"))["total"]


def test_approved_card_starts_an_active_subscription():
    plan = PlanFactory(price_minor=4990)
    subscription = subscribe(plan)

    assert subscription.status == S.ACTIVE
    assert subscription.paid_count == 1
    assert subscription.payment_label == "Card •••• 4242"
    assert subscription.next_charge_date == due_date(subscription.anchor_date, "monthly", 2)
    recurrence = first(subscription)
    assert (recurrence.status, recurrence.amount_minor) == (Recurrence.Status.PAID, 4990)
    assert recurrence.sale.status == Sale.Status.PAID
    assert ledger_total(recurrence.sale) == 4990
    (charge,) = charges_for(recurrence)
    assert (charge.outcome, charge.amount_minor) == ("approved", 4990)
    assert [e.to_status for e in subscription.events.all()] == [S.ACTIVE]


def test_promotional_first_installment_is_charged_at_the_promo_price():
    plan = PlanFactory(price_minor=4990, promo_first_price_minor=990)
    subscription = subscribe(plan)
    recurrence = first(subscription)
    assert recurrence.amount_minor == recurrence.sale.amount_minor == 990
    assert charges_for(recurrence).get().amount_minor == 990
    assert ledger_total(recurrence.sale) == 990


def test_free_first_installment_starts_the_subscription_without_a_charge():
    """A promo of 0 is allowed by the plan form (a free first period)."""
    plan = PlanFactory(price_minor=4990, promo_first_price_minor=0)
    subscription = subscribe(plan)

    assert subscription.status == S.ACTIVE
    assert not SimulatedGatewayCharge.objects.exists()
    assert not Sale.objects.filter(status=Sale.Status.PAID).exists()
    assert subscription.next_charge_date == due_date(subscription.anchor_date, "monthly", 2)


def test_two_cards_split_the_first_installment():
    plan = PlanFactory(price_minor=4990)
    subscription = subscribe(plan, second_token="tok_approved", second_amount_minor=1000)

    assert subscription.status == S.ACTIVE
    recurrence = first(subscription)
    assert sorted(c.amount_minor for c in charges_for(recurrence)) == [1000, 3990]
    assert {c.outcome for c in charges_for(recurrence)} == {"approved"}
    assert ledger_total(recurrence.sale) == 4990
    assert subscription.payment_token == APPROVED  # later charges go to card 1


@pytest.mark.parametrize("second", [DECLINED, INSUFFICIENT])
def test_second_card_failing_refunds_the_first(second):
    plan = PlanFactory(price_minor=4990)
    buyer = UserFactory()

    with pytest.raises(DomainError, match="Try another card"):
        subscribe(plan, buyer, checkout_key="k1", second_token=second, second_amount_minor=1000)

    subscription = Subscription.objects.get(buyer=buyer)
    assert subscription.status == S.INITIATED
    recurrence = first(subscription)
    assert recurrence.status == Recurrence.Status.SCHEDULED
    assert recurrence.sale.status == Sale.Status.PENDING
    (approved,) = charges_for(recurrence).filter(outcome="approved")
    assert approved.amount_minor == 3990
    (refund,) = charges_for(recurrence, kind="refund")
    assert refund.amount_minor == 3990
    assert not LedgerEntry.objects.exists()


def test_first_card_failing_refunds_the_second():
    plan = PlanFactory(price_minor=4990)
    with pytest.raises(DomainError, match="declined"):
        subscribe(plan, token=DECLINED, second_token=APPROVED, second_amount_minor=1000)
    refund = SimulatedGatewayCharge.objects.get(kind="refund")
    assert refund.amount_minor == 1000
    assert Subscription.objects.get().status == S.INITIATED


@pytest.mark.parametrize("amount", [4990, 5000, 0, -1])
def test_second_card_amount_must_be_inside_the_total(amount):
    plan = PlanFactory(price_minor=4990)
    with pytest.raises(DomainError, match="second card"):
        subscribe(plan, second_token=APPROVED, second_amount_minor=amount)
    assert not SimulatedGatewayCharge.objects.exists()
    assert not PaymentAttempt.objects.exists()


def test_only_credit_cards_split():
    with pytest.raises(DomainError, match="Only credit cards"):
        subscribe(
            method="paypal", token="tok_approved", second_token=APPROVED, second_amount_minor=1
        )
    assert not SimulatedGatewayCharge.objects.exists()


def test_declined_card_keeps_the_subscription_initiated_and_retry_with_the_same_key_works():
    plan = PlanFactory()
    buyer = UserFactory()
    with pytest.raises(DomainError, match="declined"):
        subscribe(plan, buyer, token=DECLINED, checkout_key="same")

    subscription = subscribe(plan, buyer, token=APPROVED, checkout_key="same")

    assert Subscription.objects.count() == 1
    assert subscription.status == S.ACTIVE
    recurrence = first(subscription)
    assert [a.status for a in recurrence.sale.attempts.all()] == ["declined", "approved"]
    assert charges_for(recurrence).filter(outcome="approved").count() == 1


def test_double_submit_makes_one_subscription_and_one_charge():
    plan = PlanFactory()
    buyer = UserFactory()
    one = subscribe(plan, buyer, checkout_key="double")
    two = subscribe(plan, buyer, checkout_key="double")
    assert one.pk == two.pk
    assert Subscription.objects.count() == 1
    assert SimulatedGatewayCharge.objects.count() == 1
    assert PaymentAttempt.objects.count() == 1


def test_checkout_key_of_another_buyer_is_refused():
    plan, owner = PlanFactory(), UserFactory()
    subscribe(plan, owner, checkout_key="mine")
    mine = checkout_token(owner, "mine")
    with pytest.raises(DomainError, match="Reload"):
        subscribe(plan, UserFactory(), checkout_token=mine)  # another buyer replays my form
    with pytest.raises(DomainError, match="Reload"):
        subscribe(PlanFactory(), owner, checkout_token=mine)  # my form, another plan
    with pytest.raises(DomainError, match="Reload"):
        subscribe(plan, owner, checkout_token="sub-1-2")  # a key typed by hand
    assert Subscription.objects.count() == 1


def test_timeout_then_retry_charges_once():
    """The gateway charged but the answer was lost; the buyer is told to try again and that
    they will not be charged twice. Retrying asks again with the same key."""
    plan = PlanFactory()
    buyer = UserFactory()
    with pytest.raises(DomainError, match="not be charged twice"):
        subscribe(plan, buyer, token=TIMEOUT, checkout_key="lost")
    subscription = Subscription.objects.get()
    assert subscription.status == S.INITIATED

    subscription = subscribe(plan, buyer, token=APPROVED, checkout_key="lost")

    assert subscription.status == S.ACTIVE
    recurrence = first(subscription)
    assert charges_for(recurrence).count() == 1
    assert SimulatedGatewayCharge.objects.filter(outcome="approved").count() == 1
    assert ledger_total(recurrence.sale) == recurrence.amount_minor


def test_plan_with_one_installment_expires_after_the_first_payment():
    subscription = subscribe(PlanFactory(installments=1))
    assert subscription.status == S.EXPIRED
    assert subscription.next_charge_date is None
    assert [e.to_status for e in subscription.events.all()] == [S.ACTIVE, S.EXPIRED]


def test_affiliate_code_credits_the_affiliate():
    product = ProductFactory(subscription=True)
    plan = PlanFactory(product=product)
    affiliation = AffiliationFactory(product=product, approved=True)
    subscription = subscribe(plan, affiliate_code=affiliation.code)
    assert subscription.affiliation == affiliation
    sale = first(subscription).sale
    assert LedgerEntry.objects.filter(sale=sale, role="affiliate").exists()
    assert ledger_total(sale) == sale.amount_minor


# ------------------------------------------------------------------ cash and direct debit


def test_cash_slip_is_issued_and_emailed(django_capture_on_commit_callbacks):
    buyer = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscribe(buyer=buyer, method="boleto", country="BR", token="")

    assert subscription.status == S.INITIATED
    recurrence = first(subscription)
    assert recurrence.status == Recurrence.Status.PENDING
    assert recurrence.slip_code.startswith("sim_")
    assert recurrence.slip_expires_at is not None
    (message,) = mail.outbox
    assert message.to == [buyer.email]
    assert recurrence.slip_code in message.body
    assert not LedgerEntry.objects.exists()


def test_direct_debit_is_pending_without_a_slip(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        subscription = subscribe(method="sepa", country="DE", token="")
    recurrence = first(subscription)
    assert recurrence.status == Recurrence.Status.PENDING
    assert recurrence.slip_code == ""
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("method", "country"),
    [("boleto", "US"), ("oxxo", "BR"), ("multibanco", "ES"), ("sepa", "US"), ("pse", "MX")],
)
def test_method_must_exist_in_the_country(method, country):
    with pytest.raises(DomainError, match="not available in your country"):
        subscribe(method=method, country=country, token="")
    assert not Subscription.objects.exists()
    assert not Sale.objects.exists()


@pytest.mark.parametrize(
    ("method", "country"), [("oxxo", "MX"), ("multibanco", "PT"), ("pse", "CO")]
)
def test_local_methods_are_accepted_where_they_exist(method, country):
    subscription = subscribe(method=method, country=country, token="")
    assert first(subscription).status == Recurrence.Status.PENDING


def test_producer_cannot_subscribe_to_their_own_product():
    plan = PlanFactory()
    with pytest.raises(DomainError, match="producer"):
        subscribe(plan, plan.product.producer)
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("closed", ["plan", "product", "one_time"])
def test_closed_plans_refuse_subscriptions(closed):
    plan = PlanFactory()
    if closed == "plan":
        Plan.objects.filter(pk=plan.pk).update(is_active=False)
    elif closed == "product":
        type(plan.product).objects.filter(pk=plan.product_id).update(is_active=False)
    else:
        type(plan.product).objects.filter(pk=plan.product_id).update(
            kind="one_time", price_minor=1000
        )
    plan.refresh_from_db()
    with pytest.raises(DomainError, match="not open"):
        subscribe(plan)
    assert not Subscription.objects.exists()


def test_card_number_is_required_for_a_card():
    with pytest.raises(DomainError, match="card number"):
        subscribe(token="  ")
    assert not Subscription.objects.exists()


# ----------------------------------------------------------------------- update payment


def test_card_can_be_replaced_by_another_card_or_a_wallet():
    subscription = subscribe()
    subscription_update_payment(
        subscription=subscription, actor=subscription.buyer, method="card", token="5555 4444"
    )
    subscription.refresh_from_db()
    assert (subscription.payment_token, subscription.payment_label) == (
        "5555 4444",
        "Card •••• 4444",
    )
    subscription_update_payment(
        subscription=subscription, actor=subscription.buyer, method="paypal", token=""
    )
    subscription.refresh_from_db()
    assert (subscription.method, subscription.payment_label) == ("paypal", "PayPal")


@pytest.mark.parametrize(
    ("start", "country", "to"),
    [("card", "BR", "boleto"), ("boleto", "BR", "card"), ("sepa", "DE", "paypal")],
)
def test_switching_family_is_refused_with_the_advice(start, country, to):
    subscription = SubscriptionFactory(status=S.ACTIVE, method=start, country=country)
    with pytest.raises(DomainError) as error:
        subscription_update_payment(
            subscription=subscription, actor=subscription.buyer, method=to, token=APPROVED
        )
    assert error.value.message == SWITCH_FAMILY_ADVICE
    assert "Cancel this subscription and buy the product again" in SWITCH_FAMILY_ADVICE
    subscription.refresh_from_db()
    assert subscription.method == start


def test_cash_to_another_cash_method_has_no_card_to_update():
    subscription = SubscriptionFactory(status=S.ACTIVE, method="boleto", country="BR")
    with pytest.raises(DomainError, match="no card to update"):
        subscription_update_payment(
            subscription=subscription, actor=subscription.buyer, method="boleto", token=""
        )


def test_only_the_buyer_updates_the_card():
    subscription = SubscriptionFactory(status=S.ACTIVE)
    with pytest.raises(PermissionDenied):
        subscription_update_payment(
            subscription=subscription,
            actor=subscription.product.producer,
            method="card",
            token=DECLINED,
        )
    subscription.refresh_from_db()
    assert subscription.payment_token == APPROVED


@pytest.mark.parametrize("status", [S.CANCELED_BY_CUSTOMER, S.EXPIRED, S.INACTIVE])
def test_ended_subscription_card_cannot_change(status):
    subscription = SubscriptionFactory(status=status)
    with pytest.raises(InvalidTransition):
        subscription_update_payment(
            subscription=subscription, actor=subscription.buyer, method="card", token=DECLINED
        )


@pytest.mark.parametrize(
    ("method", "token"), [("", APPROVED), ("bitcoin", APPROVED), ("card", " ")]
)
def test_update_payment_bad_input(method, token):
    subscription = SubscriptionFactory(status=S.ACTIVE)
    with pytest.raises(DomainError):
        subscription_update_payment(
            subscription=subscription, actor=subscription.buyer, method=method, token=token
        )
    subscription.refresh_from_db()
    assert subscription.payment_token == APPROVED


@pytest.fixture
def request_dies_after_the_gateway(monkeypatch):
    """The web worker is killed right after the gateway charged (e.g. a gunicorn timeout):
    nothing of the answer is recorded. Only the first call dies."""
    from products.payments import gateway

    original = gateway.SimulatedGateway.charge_many
    died = []

    def charge_many(self, requests):
        answers = original(self, requests)
        if not died:
            died.append(True)
            raise SystemExit("worker killed")
        return answers

    monkeypatch.setattr(gateway.SimulatedGateway, "charge_many", charge_many)


@pytest.mark.parametrize("split", [False, True])
def test_checkout_request_killed_mid_payment_is_recovered_by_a_retry_after_the_lease(
    request_dies_after_the_gateway, split
):
    plan = PlanFactory(price_minor=4990)
    buyer = UserFactory()
    extra = {"second_token": APPROVED, "second_amount_minor": 990} if split else {}
    day = at(date(2025, 3, 3))
    with time_machine.travel(day, tick=False), pytest.raises(SystemExit):
        subscribe(plan, buyer, checkout_key="killed", **extra)
    recurrence = Recurrence.objects.get()
    assert recurrence.status == Recurrence.Status.COLLECTING
    charged = SimulatedGatewayCharge.objects.count()
    assert charged == (2 if split else 1)

    with (
        time_machine.travel(day + timedelta(minutes=1), tick=False),
        pytest.raises(DomainError, match="already being processed"),
    ):
        subscribe(plan, buyer, checkout_key="killed", **extra)
    with time_machine.travel(day + timedelta(minutes=6), tick=False):
        subscription = subscribe(plan, buyer, checkout_key="killed", **extra)

    assert subscription.status == S.ACTIVE
    assert SimulatedGatewayCharge.objects.count() == charged  # asked again, not charged again
    assert PaymentAttempt.objects.count() == charged
    assert set(PaymentAttempt.objects.values_list("status", flat=True)) == {"approved"}
    assert subscription.paid_count == 1
    assert ledger_total(first(subscription).sale) == 4990


def test_retry_after_a_decline_may_use_another_method():
    plan = PlanFactory()
    buyer = UserFactory()
    with pytest.raises(DomainError, match="declined"):
        subscribe(plan, buyer, token=DECLINED, checkout_key="switch")

    subscription = subscribe(
        plan, buyer, method="paypal", token="tok_approved", checkout_key="switch"
    )

    assert subscription.status == S.ACTIVE
    assert (subscription.method, subscription.payment_label) == ("paypal", "PayPal")
    assert first(subscription).sale.method == "paypal"
    assert Subscription.objects.count() == 1


def test_retry_with_a_method_missing_in_the_country_is_refused():
    plan = PlanFactory()
    buyer = UserFactory()
    with pytest.raises(DomainError, match="declined"):
        subscribe(plan, buyer, token=DECLINED, checkout_key="switch")
    with pytest.raises(DomainError, match="not available in your country"):
        subscribe(plan, buyer, method="oxxo", country="BR", token="", checkout_key="switch")
    assert Subscription.objects.get().method == "card"


def test_method_cannot_change_while_the_slip_is_waiting_for_payment():
    plan = PlanFactory()
    buyer = UserFactory()
    subscribe(plan, buyer, method="boleto", token="", checkout_key="slip")
    with pytest.raises(DomainError, match="waiting for your payment slip"):
        subscribe(plan, buyer, method="card", token=APPROVED, checkout_key="slip")
    subscription = Subscription.objects.get()
    assert (subscription.method, subscription.payment_token) == ("boleto", "")
    assert first(subscription).sale.method == "boleto"
    assert not SimulatedGatewayCharge.objects.filter(outcome="approved").exists()


def test_slow_request_finishing_after_a_takeover_records_nothing_more(monkeypatch):
    """The first request hangs in the gateway past the lease; the buyer's retry takes over
    and records the payment; when the first finally returns it must not settle it again."""
    from products.payments import gateway

    original = gateway.SimulatedGateway.charge_many
    plan = PlanFactory(price_minor=4990)
    buyer = UserFactory()
    day = at(date(2025, 3, 3))
    takeovers = []

    def slow_charge_many(self, requests):
        answers = original(self, requests)
        if not takeovers:
            takeovers.append(True)
            with time_machine.travel(day + timedelta(minutes=6), tick=False):
                takeovers.append(subscribe(plan, buyer, checkout_key="slow"))
        return answers

    monkeypatch.setattr(gateway.SimulatedGateway, "charge_many", slow_charge_many)
    with time_machine.travel(day, tick=False):
        subscription = subscribe(plan, buyer, checkout_key="slow")

    assert takeovers[1].status == S.ACTIVE  # the retry recorded the payment
    subscription.refresh_from_db()
    assert subscription.status == S.ACTIVE
    assert subscription.paid_count == 1
    assert SimulatedGatewayCharge.objects.count() == 1
    assert [e.to_status for e in subscription.events.all()] == [S.ACTIVE]
    assert ledger_total(first(subscription).sale) == 4990
