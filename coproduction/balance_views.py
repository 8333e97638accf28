"""The Balance page (Products > Balance): per currency what is pending, available, in
withdrawal and withdrawn, the days ahead when pending money is released, the withdraw form
(an amount, then a confirmation with the password and authenticator code) and the withdrawal
history; and the payout gateway's signed webhook. Each person sees only their own money."""

import json
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.exceptions import DomainError
from accounts.models import PAYOUT_KIND_FOR_CURRENCY, PayoutAccount
from accounts.payout_accounts import mfa_enabled, payout_accounts_active
from config.paginate import paginate
from coproduction.balances import BalanceView, balances_of
from coproduction.forms import WithdrawalCancelForm, WithdrawAmountForm, WithdrawConfirmForm
from coproduction.models import Withdrawal
from coproduction.payout_gateway import SIGNATURE_HEADER
from coproduction.services.withdrawals import (
    payout_limits,
    payout_webhook_handle,
    withdrawal_cancel,
    withdrawal_request,
)
from products.money import format_money
from products.payments.signatures import hmac_signature_valid

S = Withdrawal.Status
STATUS_BADGES = {
    S.REQUESTED: "badge-pending",
    S.IN_REVIEW: "badge-pending",
    S.SENT: "badge-primary",
    S.PAID: "badge-success",
    S.FAILED: "badge-danger",
    S.REJECTED: "badge-danger",
    S.CANCELED: "badge-muted",
}
AMOUNT, CONFIRM = "amount", "confirm"


@dataclass
class Panel:
    """One currency's card: its figures, limits, payout account and withdraw form (None where
    the person cannot withdraw in it: no limits or no payout kind for the currency, no payout
    account, or a negative balance)."""

    balance: BalanceView
    limits: dict | None
    account: PayoutAccount | None
    form: WithdrawAmountForm | None

    @property
    def currency(self) -> str:
        return self.balance.currency


def _panels(user, *, data=None, currency: str | None = None) -> list[Panel]:
    """A card per currency the person has a balance in; `data` binds `currency`'s form."""
    accounts = {account.currency: account for account in payout_accounts_active(user=user)}
    panels = []
    for balance in balances_of(user.pk):
        # No payout account can receive a currency without a payout kind (USD): not offered.
        kind = PAYOUT_KIND_FOR_CURRENCY.get(balance.currency)
        limits = payout_limits(balance.currency) if kind else None
        account = accounts.get(balance.currency)
        form = None
        if limits and account is not None and not balance.is_negative:
            bound = data if balance.currency == currency else None
            form = WithdrawAmountForm(bound, balance=balance, limits=limits)
        panels.append(Panel(balance, limits, account, form))
    return panels


def _withdrawals(request):
    page = paginate(request, Withdrawal.objects.filter(party=request.user))
    page.object_list = list(page.object_list)
    for withdrawal in page.object_list:
        withdrawal.badge = STATUS_BADGES.get(withdrawal.status, "badge-muted")
        withdrawal.note = _note(withdrawal)
    return page


def _note(withdrawal: Withdrawal) -> str:
    """Why a withdrawal failed, was rejected, or waits for review; else nothing."""
    if withdrawal.failure:
        return withdrawal.failure
    if withdrawal.rejection_reason:
        return withdrawal.rejection_reason
    if withdrawal.can_review and withdrawal.review_reason:
        return _("Reviewed by our team: %(reason)s") % {"reason": withdrawal.review_reason}
    return ""


def _confirm(request, panel: Panel, amount_minor: int, form: WithdrawConfirmForm):
    limits = panel.limits
    return render(
        request,
        "coproduction/balance.html",
        {
            "confirm": {
                "panel": panel,
                "amount_minor": amount_minor,
                "fee_minor": limits["fee"],
                "net_minor": amount_minor - limits["fee"],
                "minimum_minor": limits["minimum"],
            },
            "form": form,
        },
    )


def _start_again(request):
    messages.error(request, _("Start the withdrawal again: its details were not understood."))
    return redirect("coproduction:balance")


@login_required
@require_http_methods(["GET", "POST"])
def balance(request):
    """GET: the page. POST step=amount: the amount form, then the confirmation step (its
    figures and the password). POST step=confirm: the withdrawal is requested."""
    user = request.user
    step = request.POST.get("step") if request.method == "POST" else None
    currency = request.POST.get("currency")
    if request.method == "POST" and step not in (AMOUNT, CONFIRM):
        return _start_again(request)
    panels = _panels(user, data=request.POST if step == AMOUNT else None, currency=currency)
    panel = next((p for p in panels if p.form is not None and p.currency == currency), None)
    if step is not None and panel is None:
        return _start_again(request)

    if step == AMOUNT and panel.form.is_valid():
        amount_minor = panel.form.cleaned_data["amount_minor"]
        form = WithdrawConfirmForm(
            user=user,
            currencies=[panel.currency],
            initial={"currency": panel.currency, "amount_minor": amount_minor},
        )
        return _confirm(request, panel, amount_minor, form)

    if step == CONFIRM:
        form = WithdrawConfirmForm(request.POST, user=user, currencies=[panel.currency])
        valid = form.is_valid()
        if not form.details_valid:
            return _start_again(request)
        amount_minor = form.cleaned_data["amount_minor"]
        if valid:
            try:
                withdrawal = withdrawal_request(
                    party=user, currency=panel.currency, amount_minor=amount_minor
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _requested_message(withdrawal))
                return redirect("coproduction:balance")
        return _confirm(request, panel, amount_minor, form)

    page = _withdrawals(request)
    return render(
        request,
        "coproduction/balance.html",
        {
            "panels": panels,
            "mfa_enabled": mfa_enabled(user),
            "page": page,
            # One per row: no ids, which would repeat.
            "cancel_form": WithdrawalCancelForm(initial={"page": page.number}, auto_id=False),
        },
    )


def _requested_message(withdrawal: Withdrawal) -> str:
    amount = format_money(withdrawal.amount_minor, withdrawal.currency)
    if withdrawal.status == S.IN_REVIEW:
        return _("Withdrawal of %(amount)s requested. Our team reviews it before it is sent.") % {
            "amount": amount
        }
    return _("Withdrawal of %(amount)s requested: it is on its way to your payout account.") % {
        "amount": amount
    }


@login_required
@require_POST
def cancel(request, pk: int):
    """The requester takes back a withdrawal not yet sent; anyone else's is a 404."""
    withdrawal = get_object_or_404(Withdrawal, pk=pk, party=request.user)
    form = WithdrawalCancelForm(request.POST)
    page = form.cleaned_data.get("page") if form.is_valid() else None
    try:
        withdrawal_cancel(withdrawal_id=withdrawal.pk, party=request.user)
    except Withdrawal.DoesNotExist:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Withdrawal of %(amount)s canceled: the money is available again.")
            % {"amount": format_money(withdrawal.amount_minor, withdrawal.currency)},
        )
    url = reverse("coproduction:balance")
    return redirect(f"{url}?page={page}#withdrawals" if page and page > 1 else f"{url}#withdrawals")


def _text(payload: dict, key: str) -> str:
    value = payload.get(key)
    return value if isinstance(value, str) else ""


@csrf_exempt
@require_POST
def payout_webhook(request):
    """POST from the payout gateway: JSON {"id", "type" (payout.paid | payout.failed),
    "external_id" (our idempotency key), "reference", "failure"}, signed with HMAC-SHA256 of
    the raw body in the X-Payout-Signature header."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not hmac_signature_valid(request.body, signature, settings.PAYOUT_WEBHOOK_SECRET):
        return JsonResponse({"error": "bad signature"}, status=400)
    try:
        payload = json.loads(request.body)
        if not isinstance(payload, dict):
            raise ValueError("not an object")
        # PostgreSQL's jsonb and text refuse NUL characters: such an event is malformed.
        if "\\u0000" in request.body.decode("utf-8", "replace") or "\x00" in str(payload):
            raise ValueError("NUL character")
        result = payout_webhook_handle(
            event_id=_text(payload, "id"),
            kind=_text(payload, "type"),
            external_id=_text(payload, "external_id"),
            payload=payload,
        )
    except (ValueError, UnicodeDecodeError):
        return HttpResponseBadRequest("Body must be a JSON object without NUL characters.")
    except DomainError as exc:
        return JsonResponse({"error": exc.message}, status=422)
    return JsonResponse({"result": result})
