"""Every event that asks someone to act, or tells them money moved, is one notification for
each person it concerns (and one email), even when the service or task behind it runs twice."""

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AccountValidation, Notification
from accounts.services import validation_decide
from coproduction.models import Contract
from coproduction.services.changes import (
    change_request_accept,
    change_request_propose,
    change_request_refuse,
    change_request_withdraw,
)
from coproduction.services.contracts import (
    contract_accept,
    contract_cancel,
    contract_decline,
    contract_invite,
    contract_request_end,
    contract_resend,
    contracts_expire,
    contracts_remind_expiring,
)
from products.models import Affiliation, Plan
from products.services.catalog import affiliation_decide, affiliation_request
from products.services.sales import sale_chargeback, sale_refund
from subscriptions import tasks as subscription_tasks
from subscriptions.models import Recurrence, Subscription
from subscriptions.services.lifecycle import subscription_cancel
from subscriptions.services.notices import receipts_send, renewals_remind, slips_remind
from tests.coproduction.factories import ContractFactory, change_fields, invite_fields
from tests.factories import (
    AccountValidationFactory,
    AffiliationFactory,
    PlanFactory,
    ProductFactory,
    UserFactory,
)
from tests.sales.test_ledger import buy, cocreator_contract
from tests.subscriptions.factories import (
    DECLINED,
    at,
    run_billing,
    run_billing_day,
    subscribe_on,
)

pytestmark = pytest.mark.django_db

Kind = Notification.Kind


def told(user, kind=None) -> list[Notification]:
    queryset = Notification.objects.filter(recipient=user)
    if kind:
        queryset = queryset.filter(kind=kind)
    return list(queryset.order_by("pk"))


def mails_to(outbox, user) -> list:
    return [m for m in outbox if m.to == [user.email]]


@pytest.fixture
def producer():
    return UserFactory(validated=True)


@pytest.fixture
def product(producer):
    return ProductFactory(producer=producer, name="Data Course")


@pytest.fixture
def cocreator():
    return UserFactory(validated=True)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


# --------------------------------------------------------------------------- co-production


def test_an_invitation_reaches_the_cocreators_inbox_once(product, cocreator, commit, mailoutbox):
    with commit():
        contract = contract_invite(
            product=product,
            actor=product.producer,
            cocreator_email=cocreator.email,
            **invite_fields(),
        )
    (notification,) = told(cocreator)
    assert notification.kind == Kind.INVITATION
    assert notification.path == f"/products/cocreator/{contract.pk}/"
    assert product.producer.get_full_name() in notification.title
    assert len(mails_to(mailoutbox, cocreator)) == 1

    # A resend is a reminder: a new notification, and a second resend at once is refused.
    Contract.objects.filter(pk=contract.pk).update(last_sent_at=timezone.now() - timedelta(hours=1))
    with commit():
        contract_resend(contract=contract, actor=product.producer)
    assert [n.title.startswith("Reminder") for n in told(cocreator)] == [False, True]


def test_answers_to_an_invitation_reach_the_producer(product, producer, commit):
    first, second = UserFactory(validated=True), UserFactory(validated=True)
    for cocreator in (first, second):
        contract_invite(
            product=product, actor=producer, cocreator_email=cocreator.email, **invite_fields()
        )
    with commit():
        contract_accept(
            contract=Contract.objects.get(cocreator=first), actor=first, terms_accepted=True
        )
        contract_decline(contract=Contract.objects.get(cocreator=second), actor=second)
    titles = [n.title for n in told(producer, Kind.INVITATION_ANSWERED)]
    assert titles == [
        f"{first.get_full_name()} accepted to co-produce Data Course",
        f"{second.get_full_name()} declined to co-produce Data Course",
    ]


def test_a_withdrawn_invitation_tells_the_cocreator(product, producer, cocreator, commit):
    contract = contract_invite(
        product=product, actor=producer, cocreator_email=cocreator.email, **invite_fields()
    )
    with commit():
        contract_cancel(contract=contract, actor=producer)
    assert [n.kind for n in told(cocreator)] == [Kind.INVITATION, Kind.INVITATION_CANCELED]


def test_a_change_request_and_its_answers(product, producer, cocreator, commit):
    contract = ContractFactory(product=product, cocreator=cocreator, active=True)
    with commit():
        change = change_request_propose(
            contract=contract, actor=producer, **change_fields(contract, commission_percent=15)
        )
    (asked,) = told(cocreator, Kind.CHANGE_REQUESTED)
    assert asked.path == f"/co-productions/{contract.pk}/history/"
    with commit():
        change_request_refuse(change=change, actor=cocreator)
    (answer,) = told(producer, Kind.REQUEST_ANSWERED)
    assert "Refused" in answer.title and "Data Course" in answer.title

    with commit():
        second = change_request_propose(
            contract=contract, actor=producer, **change_fields(contract, commission_percent=12)
        )
        change_request_withdraw(change=second, actor=producer)
    assert len(told(cocreator, Kind.REQUEST_ANSWERED)) == 1  # withdrawn: the cocreator is told


@pytest.mark.parametrize("requested_by", ["producer", "cocreator"])
def test_a_termination_request_reaches_the_other_side(
    requested_by, product, producer, cocreator, commit
):
    contract = ContractFactory(product=product, cocreator=cocreator, active=True)
    with commit():
        if requested_by == "producer":
            change = contract_cancel(contract=contract, actor=producer)
            answerer, requester = cocreator, producer
        else:
            change = contract_request_end(contract=contract, actor=cocreator)
            answerer, requester = producer, cocreator
    (asked,) = told(answerer, Kind.TERMINATION_REQUESTED)
    assert asked.path == f"/co-productions/{contract.pk}/history/"
    assert told(requester, Kind.TERMINATION_REQUESTED) == []
    with commit():
        change_request_accept(change=change, actor=answerer)
    (answer,) = told(requester, Kind.REQUEST_ANSWERED)
    assert answer.title.startswith("Termination on Data Course")


def test_an_ending_contract_is_told_a_week_before_and_on_the_day(
    product, producer, cocreator, commit, mailoutbox
):
    contract = ContractFactory(
        product=product, cocreator=cocreator, active=True, end_date=date(2027, 3, 20)
    )
    with time_machine.travel(at(date(2027, 3, 12)), tick=False), commit():
        assert contracts_remind_expiring() == 0  # 8 days before
    with time_machine.travel(at(date(2027, 3, 13)), tick=False), commit():
        assert contracts_remind_expiring() == 2
        assert contracts_remind_expiring() == 0
    with time_machine.travel(at(date(2027, 3, 15)), tick=False), commit():
        assert contracts_remind_expiring() == 0
    for party in (producer, cocreator):
        (notice,) = told(party, Kind.CONTRACT_EXPIRING)
        assert notice.title == "Your co-production of Data Course ends on Mar 20, 2027"
    with time_machine.travel(at(date(2027, 3, 22)), tick=False), commit():
        assert contracts_expire() == 1
        assert contracts_expire() == 0
    contract.refresh_from_db()
    assert contract.status == Contract.Status.EXPIRED
    for party in (producer, cocreator):
        assert len(told(party, Kind.CONTRACT_EXPIRED)) == 1
        assert len(mails_to(mailoutbox, party)) == 2


# --------------------------------------------------------------------------- subscriptions


def test_a_declined_card_tells_the_buyer_with_the_update_link_once_per_try(commit, mailoutbox):
    subscription = subscribe_on(date(2025, 1, 10), PlanFactory())
    buyer = subscription.buyer

    def cards(day):
        if day == date(2025, 2, 10):
            Subscription.objects.filter(pk=subscription.pk).update(payment_token=DECLINED)

    with commit():
        run_billing(date(2025, 1, 11), date(2025, 2, 11), before_each_day=cards)
        run_billing_day(date(2025, 2, 11))  # the same day again: nothing new
    declined = told(buyer, Kind.PAYMENT_DECLINED)
    assert len(declined) == 2  # the 10th and the retry on the 11th
    assert {n.path for n in declined} == {f"/subscriptions/{subscription.pk}/#payment"}
    # Overdue came with the first decline: said once, by the decline's own words.
    assert told(buyer, Kind.SUBSCRIPTION_OVERDUE) == []
    messages = [m for m in mails_to(mailoutbox, buyer) if "declined" in m.subject]
    assert len(messages) == 2
    assert f"/subscriptions/{subscription.pk}/#payment" in messages[0].body
    assert "We will try again on Feb 11, 2025" in messages[0].body


def test_five_unpaid_cancel_the_subscription_and_tell_the_buyer(commit):
    subscription = subscribe_on(date(2025, 1, 10), PlanFactory())
    Subscription.objects.filter(pk=subscription.pk).update(payment_token=DECLINED)
    with commit():
        run_billing(date(2025, 1, 11), date(2025, 7, 20))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELED_BY_ADMIN
    assert len(told(subscription.buyer, Kind.SUBSCRIPTION_CANCELED)) == 1


def test_a_receipt_for_every_paid_recurrence_once(commit, mailoutbox):
    plan = PlanFactory(price_minor=4990)
    with commit():
        subscription = subscribe_on(date(2025, 1, 10), plan)
        run_billing(date(2025, 1, 11), date(2025, 3, 10))
    paid = list(Recurrence.objects.filter(subscription=subscription, status=Recurrence.Status.PAID))
    assert len(paid) == 3
    receipts = told(subscription.buyer, Kind.RECEIPT)
    assert len(receipts) == 3
    assert receipts[0].title == "Payment received: R$49.90 for " + plan.product.name
    with commit():
        assert receipts_send([r.pk for r in paid]) == 0  # the task delivered twice
        subscription_tasks.send_receipts([r.pk for r in paid])
    assert len(told(subscription.buyer, Kind.RECEIPT)) == 3
    assert (
        len([m for m in mails_to(mailoutbox, subscription.buyer) if "received" in m.subject]) == 3
    )


def test_a_new_subscriber_is_told_to_the_producer(commit):
    plan = PlanFactory()
    with commit():
        subscription = subscribe_on(date(2025, 1, 10), plan)
    (notice,) = told(plan.product.producer, Kind.NEW_SUBSCRIBER)
    assert subscription.buyer.get_full_name() in notice.title
    assert notice.path == f"/products/{plan.product_id}/subscribers/"


def test_the_seller_canceling_tells_the_buyer_but_the_buyer_canceling_does_not(commit):
    plan = PlanFactory()
    mine = subscribe_on(date(2025, 1, 10), plan)
    theirs = subscribe_on(date(2025, 1, 10), plan)
    with commit():
        subscription_cancel(subscription=mine, actor=mine.buyer)
        subscription_cancel(subscription=theirs, actor=plan.product.producer)
    assert told(mine.buyer, Kind.SUBSCRIPTION_CANCELED) == []
    assert len(told(theirs.buyer, Kind.SUBSCRIPTION_CANCELED)) == 1


def test_a_slip_is_told_when_issued_and_the_day_before_it_expires(commit):
    with commit():
        subscription = subscribe_on(
            date(2025, 1, 10), PlanFactory(), method="boleto", country="BR", token=""
        )
    buyer = subscription.buyer
    (issued,) = told(buyer, Kind.SLIP_ISSUED)
    recurrence = Recurrence.objects.get(subscription=subscription)
    assert issued.path == f"/purchases/{recurrence.sale_id}/slip/"
    expires = recurrence.slip_expires_at
    with time_machine.travel(expires - timedelta(days=2), tick=False), commit():
        assert slips_remind() == 0
    with time_machine.travel(expires - timedelta(hours=20), tick=False), commit():
        assert slips_remind() == 1
        assert slips_remind() == 0
    with time_machine.travel(expires - timedelta(hours=2), tick=False), commit():
        assert slips_remind() == 0
    assert len(told(buyer, Kind.SLIP_EXPIRING)) == 1


def test_a_renewal_reminder_a_week_before_a_yearly_charge(commit):
    yearly = PlanFactory(periodicity=Plan.Periodicity.YEARLY, price_minor=49900)
    monthly = PlanFactory(product=yearly.product)
    year = subscribe_on(date(2025, 1, 10), yearly)
    month = subscribe_on(date(2025, 1, 10), monthly)
    with time_machine.travel(at(date(2026, 1, 2)), tick=False), commit():
        assert renewals_remind() == 0  # 8 days before
    with time_machine.travel(at(date(2026, 1, 3)), tick=False), commit():
        assert renewals_remind() == 1
        assert renewals_remind() == 0
    (reminder,) = told(year.buyer, Kind.RENEWAL_REMINDER)
    assert reminder.title == (
        f"Your subscription to {yearly.product.name} renews on Jan 10, 2026 for R$499.00"
    )
    assert told(month.buyer, Kind.RENEWAL_REMINDER) == []


# --------------------------------------------------------------------------- sales


def test_a_refund_tells_the_buyer_and_everyone_whose_share_went_back(producer, commit):
    product = ProductFactory(producer=producer, guarantee_days=7)
    affiliation = AffiliationFactory(product=product, approved=True, commission_percent=35)
    contract = cocreator_contract(product, percent="10")
    sale = buy(product, code=affiliation.code)
    with commit():
        sale_refund(sale=sale, actor=producer, amount_minor=1000)
    (refund,) = told(sale.buyer, Kind.REFUND)
    assert refund.path == f"/purchases/{sale.pk}/"
    for party in (producer, affiliation.affiliate, contract.cocreator):
        assert len(told(party, Kind.SALE_REFUNDED)) == 1, party
    with commit():
        sale_chargeback(sale=sale, actor=None)
    assert len(told(producer, Kind.CHARGEBACK)) == 1
    assert len(told(sale.buyer, Kind.REFUND)) == 1  # the bank's doing: no refund notice


def test_a_one_time_receipt(commit):
    with commit():
        sale = buy(ProductFactory())
    (receipt,) = told(sale.buyer, Kind.RECEIPT)
    assert receipt.path == f"/purchases/{sale.pk}/"


# --------------------------------------------------------------------------- accounts


def test_validation_decisions_are_told(commit):
    validation = AccountValidationFactory(status=AccountValidation.Status.PENDING)
    admin = UserFactory(is_staff=True)
    with commit():
        validation_decide(
            validation=validation, to=AccountValidation.Status.REJECTED, actor=admin, reason="x"
        )
    (notice,) = told(validation.user, Kind.VALIDATION_DECIDED)
    assert notice.title == "Your account validation was rejected"
    assert notice.path == "/account/validation/"


def test_affiliation_requests_and_decisions_are_told(product, producer, commit):
    affiliate = UserFactory()
    with commit():
        affiliation = affiliation_request(product=product, user=affiliate)
        affiliation_decide(affiliation=affiliation, to=Affiliation.Status.APPROVED, actor=producer)
    assert len(told(producer, Kind.AFFILIATION_REQUESTED)) == 1
    (decided,) = told(affiliate, Kind.AFFILIATION_DECIDED)
    assert decided.title == "Your affiliation to Data Course: Approved"


def test_an_unpaid_slip_makes_the_subscription_overdue_and_says_so_once(commit):
    from tests.subscriptions.factories import rerun_all_tasks
    from tests.subscriptions.test_billing_timetravel import confirm

    with commit():
        subscription = subscribe_on(
            date(2025, 1, 10), PlanFactory(), method="boleto", country="BR", token=""
        )
    (first,) = Recurrence.objects.filter(subscription=subscription)
    with time_machine.travel(at(date(2025, 1, 11)), tick=False), commit():
        assert confirm(first, "evt-1") == "processed"
    with commit():
        run_billing(date(2025, 1, 12), date(2025, 2, 25))
        rerun_all_tasks(date(2025, 2, 25))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.OVERDUE
    (overdue,) = told(subscription.buyer, Kind.SUBSCRIPTION_OVERDUE)
    assert overdue.path == f"/subscriptions/{subscription.pk}/#payment"
    assert len(told(subscription.buyer, Kind.SLIP_ISSUED)) == 2


def test_the_last_installment_ends_the_subscription_and_says_so_once(commit):
    from tests.subscriptions.factories import rerun_all_tasks

    plan = PlanFactory(installments=2)
    with commit():
        subscription = subscribe_on(date(2025, 1, 10), plan)
        run_billing(date(2025, 1, 11), date(2025, 2, 12))
        rerun_all_tasks(date(2025, 2, 12))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.EXPIRED
    assert len(told(subscription.buyer, Kind.SUBSCRIPTION_EXPIRED)) == 1
    assert len(told(subscription.buyer, Kind.RECEIPT)) == 2
    assert len(told(plan.product.producer, Kind.NEW_SUBSCRIBER)) == 1


def test_a_one_time_slip_is_told_when_issued_and_the_day_before_it_expires(commit):
    from products.payments.slips import slip_days
    from products.services.sales import slips_remind as one_time_slips_remind

    product = ProductFactory(name="Boleto Course")
    with commit():
        sale = buy(product, method="boleto", country="BR", token="")
    assert sale.status == sale.Status.PENDING
    (issued,) = told(sale.buyer, Kind.SLIP_ISSUED)
    assert issued.path == f"/purchases/{sale.pk}/slip/"
    expires = sale.attempts.get().started_at + timedelta(days=slip_days())
    with time_machine.travel(expires - timedelta(days=2), tick=False), commit():
        assert one_time_slips_remind() == 0
    with time_machine.travel(expires - timedelta(hours=3), tick=False), commit():
        assert one_time_slips_remind() == 1
        assert one_time_slips_remind() == 0
    (reminder,) = told(sale.buyer, Kind.SLIP_EXPIRING)
    assert reminder.title == "Your payment slip for Boleto Course expires tomorrow"
