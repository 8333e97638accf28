"""The payouts queue in the admin: withdrawals listed and filtered, their history, approving
(sent, and the eager simulator pays it) and rejecting with a reason (asked on a page of its
own); who may do it. Balances, read-only."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse

from coproduction import balances
from coproduction.models import Balance, Withdrawal
from coproduction.services.withdrawals import withdrawal_reject, withdrawal_request
from tests.factories import UserFactory
from tests.statements.builders import funded

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:coproduction_withdrawal_changelist")
S = Withdrawal.Status


@pytest.fixture
def party(time_machine):
    return funded(time_machine)


@pytest.fixture
def in_review(party):
    withdrawal = withdrawal_request(party=party, currency="BRL", amount_minor=6000)
    assert withdrawal.status == S.IN_REVIEW  # the first to this payout account
    return withdrawal


@pytest.fixture
def superuser(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def staff(client, *codenames):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return user


def act(client, action, withdrawals, **data):
    return client.post(
        CHANGELIST,
        {"action": action, ACTION_CHECKBOX_NAME: [w.pk for w in withdrawals], **data},
        follow=True,
    )


def messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def test_the_queue_lists_withdrawals_in_review_with_their_money(client, superuser, in_review):
    paid_elsewhere = UserFactory()  # someone with nothing in the queue

    response = client.get(CHANGELIST, {"status__exact": "in_review", "q": in_review.party.email})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [in_review]
    html = response.content.decode()
    assert 'id="changelist-filter"' in html
    assert 'value="approve_withdrawals"' in html and 'value="reject_withdrawals"' in html
    for shown in ("R$60.00", "R$3.67", "R$56.33", "first withdrawal to this payout account"):
        assert shown in html
    assert in_review.payout_account.display in html
    assert paid_elsewhere.email not in html
    assert ">6000<" not in html
    by_key = client.get(CHANGELIST, {"q": in_review.idempotency_key})
    assert list(by_key.context["cl"].result_list) == [in_review]
    none = client.get(CHANGELIST, {"status__exact": "paid"})
    assert list(none.context["cl"].result_list) == []
    drilled = client.get(CHANGELIST, {"requested_at__year": "2026", "requested_at__month": "3"})
    assert list(drilled.context["cl"].result_list) == [in_review]


def test_a_withdrawal_s_page_is_read_only_with_its_history(client, superuser, in_review):
    url = reverse("admin:coproduction_withdrawal_change", args=[in_review.pk])

    html = client.get(url).content.decode()

    assert 'class="withdrawal-history"' in html
    history = html.split('class="withdrawal-history"')[1].split("</table>")[0]
    assert "Requested" in history and "In review" in history
    assert in_review.party.email in history
    assert 'name="_save"' not in html
    assert client.get(reverse("admin:coproduction_withdrawal_add")).status_code == 403
    delete = reverse("admin:coproduction_withdrawal_delete", args=[in_review.pk])
    assert client.get(delete).status_code == 403


def test_approving_sends_and_the_simulator_pays(
    client, superuser, party, in_review, django_capture_on_commit_callbacks
):
    second = withdrawal_request(party=party, currency="BRL", amount_minor=5000)
    withdrawal_reject(withdrawal_id=second.pk, admin=superuser, reason="Duplicate")

    with django_capture_on_commit_callbacks(execute=True):
        response = act(client, "approve_withdrawals", [in_review, second])

    assert messages(response) == [
        ("success", "1 withdrawal approved."),
        ("warning", f"Withdrawal #{second.pk}: Only a withdrawal in review can be approved."),
    ]
    in_review.refresh_from_db()
    assert in_review.status == S.PAID
    assert in_review.reviewed_by == superuser and in_review.reference.startswith("po_")
    view = balances.balance_of(party.pk, "BRL")
    assert (view.withdrawn_minor, view.in_withdrawal_minor) == (6000 - 367, 0)


def test_rejecting_asks_why_first(client, superuser, in_review):
    response = act(client, "reject_withdrawals", [in_review])

    assert response.status_code == 200
    assert response.templates[0].name == "admin/coproduction/withdrawal/reject.html"
    html = response.content.decode()
    assert '<textarea name="reason"' in html
    assert f'value="{in_review.pk}"' in html and "R$60.00" in html
    in_review.refresh_from_db()
    assert in_review.status == S.IN_REVIEW


def test_rejecting_with_a_reason_gives_the_money_back(client, superuser, party, in_review):
    response = act(
        client, "reject_withdrawals", [in_review], apply="1", reason="  Name does not match "
    )

    assert messages(response) == [("success", "1 withdrawal rejected.")]
    assert response.redirect_chain[-1][0].startswith(CHANGELIST)
    in_review.refresh_from_db()
    assert in_review.status == S.REJECTED
    assert in_review.rejection_reason == "Name does not match"
    assert in_review.reviewed_by == superuser
    view = balances.balance_of(party.pk, "BRL")
    assert (view.withdrawable_minor, view.in_withdrawal_minor) == (17920, 0)


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_empty_reason_is_refused(client, superuser, in_review, reason):
    response = act(client, "reject_withdrawals", [in_review], apply="1", reason=reason)

    assert response.status_code == 200
    assert response.templates[0].name == "admin/coproduction/withdrawal/reject.html"
    assert "This field is required." in response.content.decode()
    in_review.refresh_from_db()
    assert in_review.status == S.IN_REVIEW


def test_someone_not_staff_is_sent_to_the_admin_login(client, in_review):
    client.force_login(UserFactory())

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    # Sent to the login too, which refuses someone signed in who is not staff.
    assert act(client, "approve_withdrawals", [in_review]).status_code == 403
    in_review.refresh_from_db()
    assert in_review.status == S.IN_REVIEW


def test_staff_who_may_only_look_cannot_approve_or_reject(client, in_review):
    staff(client, "view_withdrawal")

    response = client.get(CHANGELIST)

    assert response.status_code == 200
    html = response.content.decode()
    assert "approve_withdrawals" not in html and "reject_withdrawals" not in html
    act(client, "approve_withdrawals", [in_review])
    act(client, "reject_withdrawals", [in_review], apply="1", reason="No")
    in_review.refresh_from_db()
    assert in_review.status == S.IN_REVIEW


def test_staff_with_the_change_permission_may_approve(
    client, in_review, django_capture_on_commit_callbacks
):
    reviewer = staff(client, "change_withdrawal")

    with django_capture_on_commit_callbacks(execute=True):
        response = act(client, "approve_withdrawals", [in_review])

    assert messages(response) == [("success", "1 withdrawal approved.")]
    in_review.refresh_from_db()
    assert (in_review.status, in_review.reviewed_by) == (S.PAID, reviewer)


def test_balances_are_one_read_only_line_per_party_and_currency(client, superuser, party):
    withdrawal_request(party=party, currency="BRL", amount_minor=6000)
    url = reverse("admin:coproduction_balance_changelist")

    response = client.get(url, {"q": party.email})

    assert response.status_code == 200
    (line,) = response.context["cl"].result_list
    assert (line.settled_total, line.in_withdrawal_total, line.withdrawn_total) == (
        17920 - 6000,
        6000,
        0,
    )
    html = response.content.decode()
    assert "R$119.20" in html and "R$60.00" in html
    everyone = client.get(url).content.decode()
    assert "Platform" in everyone
    change = client.get(reverse("admin:coproduction_balance_change", args=[line.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    assert "R$119.20" in change.content.decode()
    assert client.get(reverse("admin:coproduction_balance_add")).status_code == 403
    # The withdrawal locked every row (shard) of the balance: still one line, the oldest row.
    assert Balance.objects.filter(party=party, currency="BRL").count() > 1
    assert line.pk == Balance.objects.filter(party=party).order_by("pk").first().pk
