"""The contract lifecycle: invite, resend, cancel, accept, decline, request end, expire.

Every write locks the product row first (all share checks of a product serialize on it), then
the contract, re-checks the state and moves it through Contract.TRANSITIONS."""

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.exceptions import DomainError, InvalidTransition, PermissionDenied
from accounts.models import Notification, User
from coproduction import webhooks
from coproduction.dates import contract_in_force_until, producer_today, producer_zone
from coproduction.models import (
    MAX_SHARE_PERCENT,
    ChangeRequest,
    Contract,
    ContractEvent,
    EmailLink,
    TermsAcceptance,
    TermsOfUse,
)
from coproduction.services.notifications import notify
from coproduction.services.shares import ShareTerms, live_contracts, share_check
from products.models import Affiliation, Product

RESEND_INTERVAL = timedelta(minutes=15)
MAX_SENDS = 5
# Both parties are told this many days before a contract's end date.
EXPIRY_NOTICE_DAYS = 7


@dataclass(frozen=True)
class CleanTerms:
    """Contract terms after the rules every invitation and change must meet."""

    end_date: date | None
    sales_scope: str
    all_affiliates: bool
    affiliates: tuple[Affiliation, ...]
    commission_percent: Decimal
    affiliate_commission_percent: Decimal | None

    def share_terms(self) -> ShareTerms:
        return ShareTerms(
            sales_scope=self.sales_scope,
            commission_percent=self.commission_percent,
            affiliate_commission_percent=self.affiliate_commission_percent,
            all_affiliates=self.all_affiliates,
            affiliate_ids=frozenset(a.pk for a in self.affiliates),
        )


def clean_terms(
    *,
    product: Product,
    end_date: date | None,
    sales_scope: str,
    all_affiliates: bool,
    affiliates,
    commission_percent: Decimal,
    affiliate_commission_percent: Decimal | None,
) -> CleanTerms:
    if sales_scope not in Contract.SalesScope.values:
        raise DomainError(_("Choose which sales pay the cocreator."))
    if commission_percent is None or not (0 < commission_percent <= MAX_SHARE_PERCENT):
        raise DomainError(
            _("The commission percentage must be above 0 and at most %(max)s %%.")
            % {"max": MAX_SHARE_PERCENT}
        )
    if end_date is not None and end_date <= producer_today(product.producer):
        raise DomainError(_("The contract end date must be after today."))
    covers_affiliates = sales_scope != Contract.SalesScope.DIRECT
    if not covers_affiliates:
        all_affiliates, affiliates, affiliate_commission_percent = True, (), None
    if affiliate_commission_percent is not None and not (
        0 < affiliate_commission_percent <= MAX_SHARE_PERCENT
    ):
        raise DomainError(
            _("The affiliate sales percentage must be above 0 and at most %(max)s %%.")
            % {"max": MAX_SHARE_PERCENT}
        )
    affiliates = tuple(affiliates or ()) if not all_affiliates else ()
    if covers_affiliates and not all_affiliates:
        if not affiliates:
            raise DomainError(_("Choose at least one affiliate, or all affiliates."))
        foreign = [
            a
            for a in affiliates
            if a.product_id != product.pk or a.status != Affiliation.Status.APPROVED
        ]
        if foreign:
            raise DomainError(_("Choose only approved affiliates of this product."))
    return CleanTerms(
        end_date=end_date,
        sales_scope=sales_scope,
        all_affiliates=all_affiliates,
        affiliates=affiliates,
        commission_percent=commission_percent,
        affiliate_commission_percent=affiliate_commission_percent,
    )


def current_terms_of_use() -> TermsOfUse:
    terms = TermsOfUse.objects.order_by("-version").first()
    if terms is None:
        raise DomainError(_("No Co-creation Terms of Use are published yet."))
    return terms


def contract_invite(
    *,
    product: Product,
    actor: User,
    cocreator_email: str,
    role: str,
    coproduction_model: str,
    automatic_sales_recovery: bool,
    terms_accepted: bool,
    **terms,
) -> Contract:
    if product.producer_id != actor.pk:
        raise PermissionDenied(_("Only the product's producer invites cocreators."))
    if not terms_accepted:
        raise DomainError(_("Read and accept the Co-creation Terms of Use to send the invitation."))
    cleaned = clean_terms(product=product, **terms)
    cocreator = User.objects.filter(email__iexact=cocreator_email.strip(), is_active=True).first()
    if cocreator is None:
        raise DomainError(
            _(
                "No active account uses this email. The cocreator must have an account to be "
                "invited."
            )
        )
    if cocreator.pk == actor.pk:
        raise DomainError(_("You are the producer of this product; invite someone else."))
    if not cocreator.is_validated:
        raise DomainError(
            _(
                "This person's account is not validated yet. They can be invited once an admin "
                "validates it."
            )
        )
    terms_of_use = current_terms_of_use()
    try:
        with transaction.atomic():
            product = Product.objects.select_for_update(no_key=True).get(pk=product.pk)
            if Contract.objects.filter(
                product=product, cocreator=cocreator, status__in=Contract.LIVE
            ).exists():
                raise DomainError(
                    _(
                        "This person already has a pending invitation or an active contract for "
                        "this product."
                    )
                )
            share_check(
                product=product,
                contracts=live_contracts(product),
                extra=[cleaned.share_terms()],
            )
            contract = Contract.objects.create(
                product=product,
                cocreator=cocreator,
                role=role,
                coproduction_model=coproduction_model,
                automatic_sales_recovery=automatic_sales_recovery,
                terms=terms_of_use,
                end_date=cleaned.end_date,
                sales_scope=cleaned.sales_scope,
                all_affiliates=cleaned.all_affiliates,
                commission_percent=cleaned.commission_percent,
                affiliate_commission_percent=cleaned.affiliate_commission_percent,
            )
            contract.affiliates.set(cleaned.affiliates)
            TermsAcceptance.objects.create(contract=contract, user=actor, terms=terms_of_use)
            record_event(
                contract=contract, actor=actor, action="invited", to_status=contract.status
            )
            notify(
                to=cocreator,
                kind=Notification.Kind.INVITATION,
                key="sent:1",
                params={"name": actor.get_full_name()},
                template="invitation",
                contract=contract,
                purpose=EmailLink.Purpose.INVITATION,
            )
    except IntegrityError:
        raise DomainError(
            _(
                "This person already has a pending invitation or an active contract for this "
                "product."
            )
        ) from None
    return contract


def contract_resend(*, contract: Contract, actor: User) -> Contract:
    """Send a pending invitation again, at most every 15 minutes and 5 times in all."""
    _require_producer(contract, actor)
    with transaction.atomic():
        contract = _lock(contract)
        if contract.status != Contract.Status.PENDING:
            raise InvalidTransition(_("Only pending invitations can be resent."))
        wait = contract.last_sent_at + RESEND_INTERVAL - timezone.now()
        if contract.send_count >= MAX_SENDS:
            raise DomainError(
                ngettext(
                    "This invitation was already sent %(count)s time.",
                    "This invitation was already sent %(count)s times.",
                    MAX_SENDS,
                )
                % {"count": MAX_SENDS}
            )
        if wait > timedelta(0):
            minutes = math.ceil(wait.total_seconds() / 60)
            raise DomainError(
                ngettext(
                    "The invitation was sent recently. You can resend it in %(minutes)s minute.",
                    "The invitation was sent recently. You can resend it in %(minutes)s minutes.",
                    minutes,
                )
                % {"minutes": minutes}
            )
        contract.last_sent_at = timezone.now()
        contract.send_count += 1
        contract.save(update_fields=["last_sent_at", "send_count", "updated_at"])
        record_event(contract=contract, actor=actor, action="resent")
        notify(
            to=contract.cocreator,
            kind=Notification.Kind.INVITATION,
            key=f"sent:{contract.send_count}",
            params={"reminder": True},
            template="invitation",
            contract=contract,
            purpose=EmailLink.Purpose.INVITATION,
        )
    return contract


def contract_cancel(*, contract: Contract, actor: User) -> ChangeRequest | None:
    """Pending: the invitation is withdrawn at once. Active: a termination request that the
    cocreator must approve (returned)."""
    _require_producer(contract, actor)
    with transaction.atomic():
        contract = _lock(contract)
        if contract.status == Contract.Status.PENDING:
            contract_transition(contract=contract, to=Contract.Status.CANCELED, actor=actor)
            notify(
                to=contract.cocreator,
                kind=Notification.Kind.INVITATION_CANCELED,
                key="canceled",
                template="invitation_canceled",
                contract=contract,
            )
            return None
        if contract.status != Contract.Status.ACTIVE:
            raise InvalidTransition(_("This contract is already closed."))
        return _termination_request(contract=contract, actor=actor, answerer=contract.cocreator)


def contract_request_end(*, contract: Contract, actor: User) -> ChangeRequest:
    """The cocreator asks to end an active contract; the producer must approve."""
    if contract.cocreator_id != actor.pk:
        raise PermissionDenied(_("Only the cocreator can request the end of this co-production."))
    with transaction.atomic():
        contract = _lock(contract)
        if contract.status != Contract.Status.ACTIVE:
            raise InvalidTransition(_("Only an active co-production can be ended."))
        return _termination_request(
            contract=contract, actor=actor, answerer=contract.product.producer
        )


def _termination_request(*, contract: Contract, actor: User, answerer: User) -> ChangeRequest:
    if contract.changes.filter(status=ChangeRequest.Status.PENDING).exists():
        raise DomainError(
            _(
                "Another request is waiting for an answer on this contract. Answer or withdraw it "
                "first."
            )
        )
    change = ChangeRequest.objects.create(
        contract=contract, kind=ChangeRequest.Kind.TERMINATION, requested_by=actor
    )
    record_event(contract=contract, actor=actor, action="termination_requested", change=change)
    notify(
        to=answerer,
        kind=Notification.Kind.TERMINATION_REQUESTED,
        key=f"change:{change.pk}",
        template="termination_requested",
        contract=contract,
        change_request=change,
        purpose=EmailLink.Purpose.CHANGE,
    )
    return change


def contract_accept(*, contract: Contract, actor: User, terms_accepted: bool) -> Contract:
    if contract.cocreator_id != actor.pk:
        raise PermissionDenied(_("Only the invited cocreator answers this invitation."))
    if not actor.is_validated:
        raise DomainError(_("Validate your account before accepting co-productions."))
    if not terms_accepted:
        raise DomainError(_("Read and accept the Co-production Terms of Use to join."))
    with transaction.atomic():
        product = Product.objects.select_for_update(no_key=True).get(pk=contract.product_id)
        contract = _lock(contract)
        if contract.status != Contract.Status.PENDING:
            raise InvalidTransition(_("This invitation is no longer pending."))
        if contract.end_date is not None and contract.end_date < producer_today(product.producer):
            raise DomainError(
                _("This invitation's end date has passed; ask the producer for a new one.")
            )
        share_check(product=product, contracts=live_contracts(product))
        contract.accepted_at = timezone.now()
        contract.save(update_fields=["accepted_at", "updated_at"])
        contract_transition(contract=contract, to=Contract.Status.ACTIVE, actor=actor)
        TermsAcceptance.objects.get_or_create(contract=contract, user=actor, terms=contract.terms)
        notify(
            to=product.producer,
            kind=Notification.Kind.INVITATION_ANSWERED,
            key="answered",
            params={"name": actor.get_full_name(), "accepted": True},
            template="invitation_answered",
            contract=contract,
        )
    return contract


def contract_decline(*, contract: Contract, actor: User) -> Contract:
    if contract.cocreator_id != actor.pk:
        raise PermissionDenied(_("Only the invited cocreator answers this invitation."))
    if not actor.is_validated:
        raise DomainError(_("Validate your account before answering co-productions."))
    with transaction.atomic():
        contract = _lock(contract)
        if contract.status != Contract.Status.PENDING:
            raise InvalidTransition(_("This invitation is no longer pending."))
        contract_transition(contract=contract, to=Contract.Status.DECLINED, actor=actor)
        notify(
            to=contract.product.producer,
            kind=Notification.Kind.INVITATION_ANSWERED,
            key="answered",
            params={"name": actor.get_full_name(), "accepted": False},
            template="invitation_answered",
            contract=contract,
        )
    return contract


def contracts_expire(*, now: datetime | None = None) -> int:
    """Expire active contracts no longer in force at `now`: the end of their end date in the
    producer's time zone has passed (coproduction.dates, which the ledger uses too).
    Idempotent; returns how many expired."""
    now = now or timezone.now()
    # No zone is more than 14 hours ahead of UTC: an end date after today's UTC date is not
    # over anywhere yet. The candidates are then checked one by one in their producer's zone.
    due = (
        Contract.objects.filter(
            status=Contract.Status.ACTIVE, end_date__lte=now.astimezone(UTC).date()
        )
        .select_related("product__producer__validation")
        .order_by("pk")
    )
    expired = 0
    for candidate in due.iterator(chunk_size=500):
        if not _past_its_end(candidate, now):
            continue
        with transaction.atomic():
            contract = (
                Contract.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("product__producer__validation")
                .filter(pk=candidate.pk, status=Contract.Status.ACTIVE)
                .first()
            )
            if contract is None or not _past_its_end(contract, now):
                continue
            contract_transition(
                contract=contract, to=Contract.Status.EXPIRED, actor=None, note="End date passed"
            )
            for party in (contract.product.producer, contract.cocreator):
                notify(
                    to=party,
                    kind=Notification.Kind.CONTRACT_EXPIRED,
                    key="expired",
                    template=None,
                    contract=contract,
                    with_link=False,
                )
            expired += 1
    return expired


def contracts_remind_expiring(*, now: datetime | None = None) -> int:
    """Beat: both parties of an active contract are told once, within the 7 days before its
    end date (in the producer's zone), that it is about to end. A new end date is told again.
    Returns how many were told."""
    now = now or timezone.now()
    today_utc = now.astimezone(UTC).date()
    due = (
        Contract.objects.filter(
            status=Contract.Status.ACTIVE,
            end_date__gte=today_utc - timedelta(days=1),
            end_date__lte=today_utc + timedelta(days=EXPIRY_NOTICE_DAYS + 1),
        )
        .select_related("product__producer__validation", "cocreator")
        .order_by("pk")
    )
    told = 0
    for contract in due.iterator(chunk_size=500):
        today = timezone.localtime(now, producer_zone(contract.product.producer)).date()
        if not 0 <= (contract.end_date - today).days <= EXPIRY_NOTICE_DAYS:
            continue
        with transaction.atomic():
            for party in (contract.product.producer, contract.cocreator):
                told += notify(
                    to=party,
                    kind=Notification.Kind.CONTRACT_EXPIRING,
                    key=f"expiring:{contract.end_date}",
                    params={"date": contract.end_date.isoformat()},
                    template=None,
                    contract=contract,
                    with_link=False,
                )
    return told


def _past_its_end(contract: Contract, now: datetime) -> bool:
    until = contract_in_force_until(contract)
    return until is not None and until <= now


def contract_transition(
    *, contract: Contract, to: str, actor: User | None, note: str = ""
) -> Contract:
    """Move a locked contract through Contract.TRANSITIONS and record the event."""
    current = Contract.Status(contract.status)
    if to not in Contract.TRANSITIONS[current]:
        raise InvalidTransition(
            _("A contract that is %(current)s cannot become %(target)s.")
            % {"current": current.label.lower(), "target": Contract.Status(to).label.lower()}
        )
    contract.status = to
    fields = ["status", "updated_at"]
    if to not in Contract.LIVE:
        contract.closed_at = timezone.now()
        fields.append("closed_at")
        # A closed contract has nothing left to answer.
        contract.changes.filter(status=ChangeRequest.Status.PENDING).update(
            status=ChangeRequest.Status.WITHDRAWN, responded_at=timezone.now()
        )
    contract.save(update_fields=fields)
    record_event(
        contract=contract, actor=actor, action=to, from_status=current, to_status=to, note=note
    )
    webhooks.contract_moved(contract, from_=current, to=to)
    return contract


def record_event(
    *,
    contract: Contract,
    actor: User | None,
    action: str,
    from_status: str = "",
    to_status: str = "",
    change: ChangeRequest | None = None,
    note: str = "",
) -> ContractEvent:
    return ContractEvent.objects.create(
        contract=contract,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        change_request=change,
        note=note,
    )


def _lock(contract: Contract) -> Contract:
    return (
        Contract.objects.select_for_update(of=("self",))
        .select_related("product__producer", "cocreator", "terms")
        .get(pk=contract.pk)
    )


def _require_producer(contract: Contract, actor: User) -> None:
    if contract.product.producer_id != actor.pk:
        raise PermissionDenied(_("Only the product's producer manages its contracts."))
