"""Change requests on active contracts: propose, accept, refuse, withdraw.

The producer proposes new terms; the cocreator answers. Termination requests come from either
side and the other side answers. Nothing changes until the answer is Accept."""

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.exceptions import DomainError, InvalidTransition, PermissionDenied
from accounts.models import Notification, User
from coproduction import webhooks
from coproduction.dates import producer_today
from coproduction.models import ChangeRequest, Contract, EmailLink
from coproduction.services.contracts import (
    _lock,
    clean_terms,
    contract_transition,
    record_event,
)
from coproduction.services.notifications import notify
from coproduction.services.shares import ShareTerms, live_contracts, share_check
from products.models import Product


def change_request_propose(*, contract: Contract, actor: User, **terms) -> ChangeRequest:
    """The producer proposes new terms for an active contract (only what differs is stored)."""
    if contract.product.producer_id != actor.pk:
        raise PermissionDenied(_("Only the product's producer proposes changes."))
    try:
        with transaction.atomic():
            product = Product.objects.select_for_update(no_key=True).get(pk=contract.product_id)
            contract = _lock(contract)
            if contract.status != Contract.Status.ACTIVE:
                raise InvalidTransition(_("Changes can be proposed only on an active contract."))
            if contract.changes.filter(status=ChangeRequest.Status.PENDING).exists():
                raise DomainError(
                    _(
                        "Another request is waiting for an answer on this contract. Wait for it "
                        "or withdraw it first."
                    )
                )
            cleaned = clean_terms(product=product, **terms)
            before, after = _diff(contract, cleaned)
            if not after:
                raise DomainError(_("Nothing changed: edit at least one term to propose a change."))
            current = ShareTerms.of(contract)
            share_check(
                product=product,
                contracts=live_contracts(product),
                replace={contract.pk: [current, current.with_changes(after)]},
            )
            change = ChangeRequest.objects.create(
                contract=contract,
                kind=ChangeRequest.Kind.CHANGE,
                before=before,
                after=after,
                requested_by=actor,
            )
            record_event(contract=contract, actor=actor, action="change_requested", change=change)
            notify(
                to=contract.cocreator,
                kind=Notification.Kind.CHANGE_REQUESTED,
                key=f"change:{change.pk}",
                template="change_requested",
                contract=contract,
                change_request=change,
                purpose=EmailLink.Purpose.CHANGE,
            )
    except IntegrityError:
        raise DomainError(_("Another request is waiting for an answer on this contract.")) from None
    return change


def change_request_accept(*, change: ChangeRequest, actor: User) -> ChangeRequest:
    with transaction.atomic():
        product = Product.objects.select_for_update(no_key=True).get(pk=change.contract.product_id)
        contract = _lock(change.contract)
        change = _lock_change(change, actor=actor, answering=True)
        if contract.status != Contract.Status.ACTIVE:
            raise InvalidTransition(
                _("This co-production is closed; its requests cannot change it.")
            )
        if change.kind == ChangeRequest.Kind.CHANGE:
            end_date = change.after.get("end_date")
            if end_date and date.fromisoformat(end_date) < producer_today(product.producer):
                raise DomainError(
                    _("The proposed end date has passed; ask the producer for a new change.")
                )
            current = ShareTerms.of(contract)
            share_check(
                product=product,
                contracts=live_contracts(product),
                replace={contract.pk: [current.with_changes(change.after)]},
            )
            _apply(contract, change.after)
        _answer(change, ChangeRequest.Status.ACCEPTED, actor)
        if change.kind == ChangeRequest.Kind.TERMINATION:
            contract_transition(
                contract=contract, to=Contract.Status.ENDED, actor=actor, note="Termination agreed"
            )
    return change


def change_request_refuse(*, change: ChangeRequest, actor: User) -> ChangeRequest:
    with transaction.atomic():
        _lock(change.contract)
        change = _lock_change(change, actor=actor, answering=True)
        _answer(change, ChangeRequest.Status.REFUSED, actor)
    return change


def change_request_withdraw(*, change: ChangeRequest, actor: User) -> ChangeRequest:
    with transaction.atomic():
        _lock(change.contract)
        change = _lock_change(change, actor=actor, answering=False)
        _answer(change, ChangeRequest.Status.WITHDRAWN, actor)
    return change


def _lock_change(change: ChangeRequest, *, actor: User, answering: bool) -> ChangeRequest:
    change = (
        ChangeRequest.objects.select_for_update(of=("self",))
        .select_related("contract__product__producer", "contract__cocreator", "requested_by")
        .get(pk=change.pk)
    )
    contract = change.contract
    parties = {contract.product.producer_id, contract.cocreator_id}
    if actor.pk not in parties:
        raise PermissionDenied(_("Only the producer and the cocreator take part in this contract."))
    if answering and actor.pk == change.requested_by_id:
        raise PermissionDenied(_("The other side answers this request."))
    if not answering and actor.pk != change.requested_by_id:
        raise PermissionDenied(_("Only who made the request can withdraw it."))
    if answering and not actor.is_validated:
        raise DomainError(_("Validate your account before answering requests."))
    if change.status != ChangeRequest.Status.PENDING:
        raise InvalidTransition(
            _("This request was already %(status)s.")
            % {"status": change.get_status_display().lower()}
        )
    return change


def _answer(change: ChangeRequest, to: str, actor: User) -> None:
    current = ChangeRequest.Status(change.status)
    if to not in ChangeRequest.TRANSITIONS[current]:
        raise InvalidTransition(
            _("This request was already %(status)s.") % {"status": current.label.lower()}
        )
    change.status = to
    change.responded_by = actor
    change.responded_at = timezone.now()
    change.save(update_fields=["status", "responded_by", "responded_at"])
    contract = change.contract
    record_event(contract=contract, actor=actor, action=f"change_{to}", change=change)
    webhooks.change_answered(change)
    other = (
        contract.cocreator
        if actor.pk == contract.product.producer_id
        else contract.product.producer
    )
    notify(
        to=other,
        kind=Notification.Kind.REQUEST_ANSWERED,
        key=f"change:{change.pk}:{to}",
        params={"type": change.kind, "fields": change.changed_fields, "status": to},
        template="change_answered",
        contract=contract,
        change_request=change,
    )


def _apply(contract: Contract, after: dict) -> None:
    fields = []
    for name in ("commission_percent", "affiliate_commission_percent"):
        if name in after:
            setattr(contract, name, Decimal(after[name]) if after[name] is not None else None)
            fields.append(name)
    if "sales_scope" in after:
        contract.sales_scope = after["sales_scope"]
        fields.append("sales_scope")
    if "end_date" in after:
        contract.end_date = date.fromisoformat(after["end_date"]) if after["end_date"] else None
        fields.append("end_date")
    if "affiliates" in after:
        contract.all_affiliates = after["affiliates"]["all"]
        fields.append("all_affiliates")
        contract.affiliates.set([item["id"] for item in after["affiliates"]["chosen"]])
    contract.save(update_fields=[*fields, "updated_at"])


def _diff(contract: Contract, cleaned) -> tuple[dict, dict]:
    """JSON-safe before/after of the terms that differ."""
    old = _serialize_terms(
        end_date=contract.end_date,
        sales_scope=contract.sales_scope,
        commission_percent=contract.commission_percent,
        affiliate_commission_percent=contract.affiliate_commission_percent,
        all_affiliates=contract.all_affiliates,
        affiliates=list(contract.affiliates.select_related("affiliate")),
    )
    new = _serialize_terms(
        end_date=cleaned.end_date,
        sales_scope=cleaned.sales_scope,
        commission_percent=cleaned.commission_percent,
        affiliate_commission_percent=cleaned.affiliate_commission_percent,
        all_affiliates=cleaned.all_affiliates,
        affiliates=list(cleaned.affiliates),
    )
    changed = [name for name in new if new[name] != old[name]]
    return {n: old[n] for n in changed}, {n: new[n] for n in changed}


def _serialize_terms(
    *,
    end_date,
    sales_scope,
    commission_percent,
    affiliate_commission_percent,
    all_affiliates,
    affiliates,
) -> dict:
    def percent(value):
        return None if value is None else f"{Decimal(value):.2f}"

    return {
        "commission_percent": percent(commission_percent),
        "affiliate_commission_percent": percent(affiliate_commission_percent),
        "sales_scope": sales_scope,
        "end_date": end_date.isoformat() if end_date else None,
        "affiliates": {
            "all": all_affiliates,
            "chosen": sorted(
                ({"id": a.pk, "email": a.affiliate.email} for a in affiliates),
                key=lambda item: item["id"],
            ),
        },
    }
