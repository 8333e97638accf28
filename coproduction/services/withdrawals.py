"""Withdrawals: a party takes money from their available balance to their payout account.

requested → in review (the first withdrawal to a payout account, or one above the currency's
review amount) → sent → paid | failed; an admin may reject one in review; the requester may
cancel one still requested. Every move goes through the one transition helper (events
written), and every money move is a pair of ledger entries kept with the balance
(coproduction.balances):

- requested: available -amount, in withdrawal +amount;
- paid: in withdrawal -(amount - fee) and -fee, withdrawn +(amount - fee), the platform's
  available +fee;
- failed, rejected, canceled: in withdrawal -amount, available +amount.

The balance row is locked while a withdrawal is requested, so two requests never overdraw.
The gateway is called outside any transaction, after the move to sent is committed with the
withdrawal's idempotency key; a lost answer is retried by beat with the same key."""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts.exceptions import DomainError
from accounts.payout_accounts import active_payout_account
from config.money_log import money_event
from coproduction import balances, webhooks
from coproduction.models import LedgerEntry, Withdrawal
from coproduction.payout_gateway import PayoutRefused, PayoutTimeout, get_payout_gateway
from products.models import WebhookEvent
from products.money import format_money
from products.payments.states import transition

log = logging.getLogger(__name__)

S = Withdrawal.Status
T = LedgerEntry.EntryType
B = LedgerEntry.Bucket
PAYEE = LedgerEntry.Role.PAYEE
KINDS = ("payout.paid", "payout.failed")
# A requested withdrawal whose task was lost, or a sent one without the gateway's answer, is
# picked up by beat after this long.
STALE_AFTER = timedelta(minutes=5)


def payout_limits(currency: str) -> dict | None:
    """{"minimum", "fee", "review_above"} in minor units, or None where nobody can withdraw."""
    return settings.PAYOUT_LIMITS_MINOR.get(currency)


def _row(withdrawal, line, entry_type, bucket, amount, party_id, role=PAYEE):
    # In coproduction.services.ledger.COLUMNS order.
    return (
        None,
        None,
        entry_type,
        line,
        role,
        party_id,
        None,
        None,
        None,
        amount,
        withdrawal.currency,
        timezone.now(),
        withdrawal.pk,
        bucket,
        None,
    )


def _write(rows) -> None:
    from coproduction.services.ledger import insert_entries

    insert_entries([rows])


def _lock_balance(party_id, currency) -> None:
    """Hold the party's balance (in the order every writer takes: party rows before the
    platform's)."""
    balances.lock(party_id, currency)


def withdrawal_request(*, party, currency: str, amount_minor: int) -> Withdrawal:
    """Take `amount_minor` out of the party's available balance towards their payout account.
    DomainError (nothing written) when it cannot be."""
    limits = payout_limits(currency)
    if limits is None:
        raise DomainError(_("Withdrawals in this currency are not available yet."))
    if amount_minor < limits["minimum"]:
        raise DomainError(
            _("The smallest withdrawal is %(amount)s.")
            % {"amount": format_money(limits["minimum"], currency)}
        )
    with transaction.atomic():
        _lock_balance(party.pk, currency)
        account = active_payout_account(party, currency)
        if account is None:
            raise DomainError(_("Add a payout account for this currency first."))
        # Locked: a change of payout account at the same time waits, then is seen.
        account = type(account).objects.select_for_update().get(pk=account.pk)
        if not account.is_active:
            raise DomainError(_("Your payout account changed. Try again."))
        if account.withdrawals_held:
            raise DomainError(
                _("Your payout account changed recently: withdrawals are held until %(until)s")
                % {
                    "until": formats.date_format(
                        timezone.localtime(account.withdrawals_held_until), "DATETIME_FORMAT"
                    )
                }
            )
        view = balances.balance_of(party.pk, currency)
        if view.is_negative:
            raise DomainError(
                _("Your balance is negative: withdrawals resume when your earnings cover it.")
            )
        if amount_minor > view.withdrawable_minor:
            raise DomainError(
                _("You can withdraw up to %(amount)s.")
                % {"amount": format_money(view.withdrawable_minor, currency)}
            )
        first = not Withdrawal.objects.filter(
            payout_account=account, status__in=[S.SENT, S.PAID]
        ).exists()
        review = (
            _("first withdrawal to this payout account")
            if first
            else _("above the review amount")
            if amount_minor > limits["review_above"]
            else ""
        )
        withdrawal = Withdrawal.objects.create(
            party=party,
            currency=currency,
            amount_minor=amount_minor,
            fee_minor=limits["fee"],
            payout_account=account,
            account_snapshot=account.snapshot(),
            idempotency_key=f"payout-{party.pk}-{secrets.token_hex(12)}",
            review_reason=str(review),
        )
        _write(
            [
                _row(withdrawal, 0, T.WITHDRAWAL, B.AVAILABLE, -amount_minor, party.pk),
                _row(withdrawal, 1, T.WITHDRAWAL, B.IN_WITHDRAWAL, amount_minor, party.pk),
            ]
        )
        if review:
            transition(withdrawal, S.IN_REVIEW, actor=party, reason=str(review))
        else:
            _dispatch_on_commit(withdrawal.pk)
        money_event(
            "payout",
            kind="requested",
            withdrawal=withdrawal.pk,
            party=party.pk,
            amount_minor=amount_minor,
            currency=currency,
            review=bool(review),
        )
    return withdrawal


def _dispatch_on_commit(pk: int) -> None:
    from coproduction.tasks import dispatch_withdrawal

    transaction.on_commit(lambda: dispatch_withdrawal.delay(pk))


def _give_back(withdrawal: Withdrawal) -> None:
    party_id = withdrawal.party_id
    _write(
        [
            _row(
                withdrawal, 2, T.PAYOUT_RETURN, B.IN_WITHDRAWAL, -withdrawal.amount_minor, party_id
            ),
            _row(withdrawal, 3, T.PAYOUT_RETURN, B.AVAILABLE, withdrawal.amount_minor, party_id),
        ]
    )


def _locked(pk: int) -> Withdrawal:
    withdrawal = Withdrawal.objects.select_for_update().get(pk=pk)
    _lock_balance(withdrawal.party_id, withdrawal.currency)
    return withdrawal


def withdrawal_cancel(*, withdrawal_id: int, party) -> Withdrawal:
    """The requester takes back a withdrawal not yet sent nor in review."""
    with transaction.atomic():
        withdrawal = _locked(withdrawal_id)
        if withdrawal.party_id != party.pk:
            raise Withdrawal.DoesNotExist
        if not withdrawal.can_cancel:
            raise DomainError(_("This withdrawal can no longer be canceled."))
        transition(withdrawal, S.CANCELED, actor=party, completed_at=timezone.now())
        _give_back(withdrawal)
    return withdrawal


def withdrawal_approve(*, withdrawal_id: int, admin) -> Withdrawal:
    """An admin lets a reviewed withdrawal go: it is sent (the gateway called after commit)."""
    with transaction.atomic():
        withdrawal = _locked(withdrawal_id)
        if not withdrawal.can_review:
            raise DomainError(_("Only a withdrawal in review can be approved."))
        withdrawal.reviewed_by = admin
        withdrawal.save(update_fields=["reviewed_by"])
        transition(withdrawal, S.SENT, actor=admin, reason="approved", sent_at=timezone.now())
        _dispatch_on_commit(withdrawal.pk)
    return withdrawal


def withdrawal_reject(*, withdrawal_id: int, admin, reason: str) -> Withdrawal:
    """An admin refuses a reviewed withdrawal, saying why: the money is available again."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the withdrawal is rejected."))
    with transaction.atomic():
        withdrawal = _locked(withdrawal_id)
        if not withdrawal.can_review:
            raise DomainError(_("Only a withdrawal in review can be rejected."))
        withdrawal.reviewed_by = admin
        withdrawal.rejection_reason = reason[:500]
        withdrawal.save(update_fields=["reviewed_by", "rejection_reason"])
        transition(withdrawal, S.REJECTED, actor=admin, reason=reason, completed_at=timezone.now())
        _give_back(withdrawal)
        _tell(withdrawal)
    return withdrawal


def _tell(withdrawal: Withdrawal) -> None:
    """The party hears once that their withdrawal was paid, failed or was rejected (in the
    transaction that decided it: the inbox row and the email go with it or not at all)."""
    from django.urls import reverse

    from accounts.models import Notification
    from accounts.notifications import GENERIC_EMAIL, notify

    notify(
        withdrawal.party,
        Notification.Kind.PAYOUT,
        key=f"withdrawal:{withdrawal.pk}:{withdrawal.status}",
        params={
            "status": withdrawal.status,
            "amount_minor": withdrawal.amount_minor,
            "currency": withdrawal.currency,
        },
        path=reverse("coproduction:balance"),
        email=GENERIC_EMAIL,
    )


def withdrawal_dispatch(withdrawal_id: int) -> str:
    """Send one withdrawal to the payout gateway: moved to sent and committed first, then the
    call (same idempotency key on every retry), then its reference stored. Returns what
    happened."""
    with transaction.atomic():
        withdrawal = Withdrawal.objects.select_for_update().get(pk=withdrawal_id)
        if withdrawal.status == S.REQUESTED:
            transition(withdrawal, S.SENT, sent_at=timezone.now())
        elif withdrawal.status != S.SENT or withdrawal.reference:
            return "nothing to send"
    try:
        reference = get_payout_gateway().send(
            idempotency_key=withdrawal.idempotency_key,
            amount_minor=withdrawal.net_minor,
            currency=withdrawal.currency,
            account=withdrawal.account_snapshot,
        )
    except PayoutTimeout:
        log.warning("payout gateway timed out on withdrawal %s; beat retries", withdrawal.pk)
        return "timeout"
    except PayoutRefused as exc:
        withdrawal_settle(withdrawal_id=withdrawal.pk, paid=False, failure=str(exc))
        return "refused"
    with transaction.atomic():
        withdrawal = Withdrawal.objects.select_for_update().get(pk=withdrawal_id)
        if not withdrawal.reference:
            withdrawal.reference = reference[:100]
            withdrawal.save(update_fields=["reference"])
    return "sent"


def withdrawal_settle(
    *, withdrawal_id: int, paid: bool, failure: str = "", reference: str = ""
) -> bool:
    """The gateway's outcome of a sent withdrawal; False when it was already settled."""
    with transaction.atomic():
        withdrawal = _locked(withdrawal_id)
        if withdrawal.status != S.SENT:
            return False
        if reference and not withdrawal.reference:
            withdrawal.reference = reference[:100]
            withdrawal.save(update_fields=["reference"])
        now = timezone.now()
        if paid:
            transition(withdrawal, S.PAID, completed_at=now)
            party_id, net, fee = withdrawal.party_id, withdrawal.net_minor, withdrawal.fee_minor
            rows = [
                _row(withdrawal, 2, T.PAYOUT, B.IN_WITHDRAWAL, -net, party_id),
                _row(withdrawal, 3, T.PAYOUT, B.WITHDRAWN, net, party_id),
            ]
            if fee:
                rows += [
                    _row(withdrawal, 4, T.PAYOUT_FEE, B.IN_WITHDRAWAL, -fee, party_id),
                    _row(
                        withdrawal,
                        5,
                        T.PAYOUT_FEE,
                        B.AVAILABLE,
                        fee,
                        None,
                        role=LedgerEntry.Role.PLATFORM,
                    ),
                ]
            _write(rows)
            webhooks.payout_paid(withdrawal)
        else:
            withdrawal.failure = (failure or _("The payout failed."))[:500]
            withdrawal.save(update_fields=["failure"])
            transition(withdrawal, S.FAILED, reason=withdrawal.failure, completed_at=now)
            _give_back(withdrawal)
        _tell(withdrawal)
        money_event(
            "payout",
            kind="paid" if paid else "failed",
            withdrawal=withdrawal.pk,
            amount_minor=withdrawal.amount_minor,
            currency=withdrawal.currency,
        )
    return True


def payout_webhook_handle(*, event_id: str, kind: str, external_id: str, payload: dict) -> str:
    """Store and apply one payout notification; "processed", "duplicate" or "ignored" (no
    withdrawal with that key yet: stored, and applied when the gateway sends it again)."""
    if kind not in KINDS or not event_id or not external_id:
        raise DomainError(
            f"Unknown event: expected an id, a type in {', '.join(KINDS)} and an external_id."
        )
    stored_id = f"payout:{event_id}"
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = WebhookEvent.objects.create(
                    event_id=stored_id, kind=kind, reference=external_id[:80], payload=payload
                )
        except IntegrityError:
            event = WebhookEvent.objects.select_for_update().get(event_id=stored_id)
            if event.result != WebhookEvent.Result.UNMATCHED:
                return "duplicate"
        withdrawal_id, status = Withdrawal.objects.filter(idempotency_key=external_id).values_list(
            "pk", "status"
        ).first() or (None, None)
        if withdrawal_id is None or status in (S.REQUESTED, S.IN_REVIEW):
            # Not sent yet as far as we know: kept, and applied when the gateway sends it again.
            result = WebhookEvent.Result.UNMATCHED
        elif withdrawal_settle(
            withdrawal_id=withdrawal_id,
            paid=kind == "payout.paid",
            failure=str(payload.get("failure") or ""),
            reference=str(payload.get("reference") or ""),
        ):
            result = WebhookEvent.Result.PROCESSED
        else:
            result = WebhookEvent.Result.ALREADY_SETTLED
        event.result = result
        event.save(update_fields=["result"])
    return {
        WebhookEvent.Result.UNMATCHED: "ignored",
        WebhookEvent.Result.ALREADY_SETTLED: "duplicate",
    }.get(result, "processed")


def withdrawals_dispatch_stale() -> int:
    """Beat: requested withdrawals whose task was lost and sent ones without the gateway's
    answer, older than STALE_AFTER, are dispatched again (same key). Each on its own: one
    failing does not stop the others."""
    cutoff = timezone.now() - STALE_AFTER
    pks = list(
        Withdrawal.objects.filter(status=S.REQUESTED, requested_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    ) + list(
        Withdrawal.objects.filter(status=S.SENT, reference="", sent_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    done = 0
    for pk in pks:
        try:
            withdrawal_dispatch(pk)
            done += 1
        except Exception:  # the rest of the run goes on; the error is logged
            log.exception("dispatching withdrawal %s failed", pk)
    return done
