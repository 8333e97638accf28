"""The REST API's co-production part: my ledger entries, my contracts (as producer or
cocreator) with their change requests and history, and my withdrawals.

`contract_resource`, `change_request_resource` and `withdrawal_resource` build one row as the
API returns it; webhook payloads use them too."""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import Q
from django.http import Http404
from ninja import Field, Path, Query, Router

from accounts.api import (
    AFTER,
    BEFORE,
    ID_MAX,
    READ,
    Money,
    Out,
    PageParams,
    Ref,
    When,
    api_user,
    date_range,
    email_of,
    iso,
    keyset_page,
    money,
    page_of,
    ref,
    responses,
)
from coproduction import selectors
from coproduction.models import ChangeRequest, Contract, ContractEvent, LedgerEntry, Withdrawal

router = Router()


class NotVisible(LookupError):
    """The viewer is not a party to this row."""


# ----------------------------------------------------------------------------------- ledger


class LedgerEntryOut(Out):
    id: int
    created_at: str
    entry_type: Literal[
        "split", "refund", "chargeback", "withdrawal", "payout", "payout_fee", "payout_return"
    ]
    role: Literal["affiliate", "cocreator", "producer", "payee"]
    amount: Money
    bucket: Literal["earning", "available", "in_withdrawal", "withdrawn"]
    available_on: str | None = Field(..., description="Earnings: the day they can be withdrawn.")
    sale_id: int | None
    product: Ref | None
    contract_id: int | None
    refund_id: int | None
    withdrawal_id: int | None


LedgerPage = page_of(LedgerEntryOut, "LedgerPage")


def _entry(entry: LedgerEntry) -> dict:
    return {
        "id": entry.pk,
        "created_at": iso(entry.created_at),
        "entry_type": entry.entry_type,
        "role": entry.role,
        "amount": money(entry.amount_minor, entry.currency),
        "bucket": entry.bucket,
        "available_on": entry.available_on.isoformat() if entry.available_on else None,
        "sale_id": entry.sale_id,
        "product": ref(entry.product) if entry.product_id else None,
        "contract_id": entry.contract_id,
        "refund_id": entry.refund_id,
        "withdrawal_id": entry.withdrawal_id,
    }


class LedgerFilters(PageParams):
    entry_type: (
        Literal[
            "split", "refund", "chargeback", "withdrawal", "payout", "payout_fee", "payout_return"
        ]
        | None
    ) = None
    role: Literal["affiliate", "cocreator", "producer", "payee"] | None = None
    currency: Literal["BRL", "USD", "EUR", "MXN", "COP"] | None = None
    product_id: int | None = Field(None, ge=1, le=ID_MAX)
    created_after: When | None = Field(None, description=AFTER)
    created_before: When | None = Field(None, description=BEFORE)


@router.get(
    "/ledger",
    response=responses(LedgerPage),
    tags=["earnings"],
    summary="My ledger entries (what each sale paid me, reversals, withdrawals), newest first",
    **READ,
)
def ledger_list(request, filters: Query[LedgerFilters]):
    queryset = LedgerEntry.objects.filter(
        beneficiary=api_user(request, LedgerFilters)
    ).select_related("product")
    for name in ("entry_type", "role", "currency", "product_id"):
        value = getattr(filters, name)
        if value:
            queryset = queryset.filter(**{name: value})
    queryset = date_range(
        queryset,
        "created_at",
        filters.created_after,
        filters.created_before,
        ("created_after", "created_before"),
    )
    rows, cursor = keyset_page(queryset, filters, field="created_at")
    return {"results": [_entry(e) for e in rows], "next_cursor": cursor}


# -------------------------------------------------------------------------------- contracts

ContractStatus = Literal["pending", "active", "declined", "canceled", "ended", "expired"]


class ContractOut(Out):
    id: int
    your_role: Literal["producer", "cocreator"]
    product: Ref
    producer_email: str
    cocreator_email: str
    role: str = Field(..., description="What the cocreator does (expert, launch, …).")
    status: ContractStatus
    commission_percent: str = Field(..., examples=["10.00"])
    affiliate_commission_percent: str | None = Field(
        ..., description="On affiliate sales; null: the same as commission_percent."
    )
    sales_scope: Literal["all", "direct", "affiliate"]
    all_affiliates: bool
    affiliate_emails: list[str] = Field(..., description="The chosen affiliates, if not all.")
    coproduction_model: str
    automatic_sales_recovery: bool
    end_date: str | None = Field(..., description="null: eternal.")
    invited_at: str
    accepted_at: str | None
    closed_at: str | None


ContractPage = page_of(ContractOut, "ContractPage")


def _percent(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def _contract(contract: Contract, viewer_id: int) -> dict:
    return {
        "id": contract.pk,
        "your_role": "producer" if contract.product.producer_id == viewer_id else "cocreator",
        "product": ref(contract.product),
        "producer_email": contract.product.producer.email,
        "cocreator_email": contract.cocreator.email,
        "role": contract.role,
        "status": contract.status,
        "commission_percent": _percent(contract.commission_percent),
        "affiliate_commission_percent": _percent(contract.affiliate_commission_percent),
        "sales_scope": contract.sales_scope,
        "all_affiliates": contract.all_affiliates,
        "affiliate_emails": (
            []
            if contract.all_affiliates
            else [a.affiliate.email for a in contract.affiliates.all()]
        ),
        "coproduction_model": contract.coproduction_model,
        "automatic_sales_recovery": contract.automatic_sales_recovery,
        "end_date": contract.end_date.isoformat() if contract.end_date else None,
        "invited_at": iso(contract.invited_at),
        "accepted_at": iso(contract.accepted_at),
        "closed_at": iso(contract.closed_at),
    }


def _contracts_of(user_id: int, role: str | None = None):
    """The contracts the user is a party to: of their products, or as the cocreator."""
    scope = {
        "producer": Q(product__producer_id=user_id),
        "cocreator": Q(cocreator_id=user_id),
        None: Q(product__producer_id=user_id) | Q(cocreator_id=user_id),
    }[role]
    return (
        Contract.objects.filter(scope)
        .select_related("product__producer", "cocreator")
        .prefetch_related("affiliates__affiliate")
    )


def contract_resource(contract: Contract, viewer_id: int) -> dict:
    """The contract as GET /contracts returns it to `viewer_id` (its producer or cocreator);
    NotVisible (a LookupError) for anyone else."""
    contract = _contracts_of(viewer_id).filter(pk=contract.pk).first()
    if contract is None:
        raise NotVisible
    return _contract(contract, viewer_id)


class ContractFilters(PageParams):
    role: Literal["producer", "cocreator"] | None = Field(
        None, description="Default: both, the contracts of my products and those I co-produce."
    )
    status: ContractStatus | None = None
    product_id: int | None = Field(None, ge=1, le=ID_MAX)


@router.get(
    "/contracts",
    response=responses(ContractPage),
    tags=["co-production"],
    summary="My co-production contracts, as producer or cocreator, newest invitation first",
    **READ,
)
def contracts_list(request, filters: Query[ContractFilters]):
    user = api_user(request, ContractFilters)
    queryset = _contracts_of(user.pk, filters.role)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.product_id:
        queryset = queryset.filter(product_id=filters.product_id)
    rows, cursor = keyset_page(queryset, filters, field="invited_at")
    return {"results": [_contract(c, user.pk) for c in rows], "next_cursor": cursor}


def _contract_of_party(request, contract_id: int, *params) -> Contract:
    contract = _contracts_of(api_user(request, *params).pk).filter(pk=contract_id).first()
    if contract is None:
        raise Http404
    return contract


@router.get(
    "/contracts/{contract_id}",
    response=responses(ContractOut),
    tags=["co-production"],
    summary="One of my contracts",
    **READ,
)
def contracts_detail(request, contract_id: int = Path(..., ge=1, le=ID_MAX)):
    return _contract(_contract_of_party(request, contract_id), api_user(request).pk)


class ChangeRequestOut(Out):
    id: int
    contract_id: int
    kind: Literal["change", "termination"]
    status: Literal["pending", "accepted", "refused", "withdrawn"]
    before: dict[str, Any] = Field(..., description="The changed terms as they were.")
    after: dict[str, Any] = Field(..., description="The changed terms as proposed.")
    requested_by_email: str
    requested_at: str
    responded_by_email: str | None
    responded_at: str | None


ChangeRequestPage = page_of(ChangeRequestOut, "ChangeRequestPage")


def _change(change: ChangeRequest) -> dict:
    return {
        "id": change.pk,
        "contract_id": change.contract_id,
        "kind": change.kind,
        "status": change.status,
        "before": change.before or {},
        "after": change.after or {},
        "requested_by_email": change.requested_by.email,
        "requested_at": iso(change.requested_at),
        "responded_by_email": email_of(change.responded_by),
        "responded_at": iso(change.responded_at),
    }


def change_request_resource(change_request: ChangeRequest, viewer_id: int) -> dict:
    """The change request as GET /contracts/{id}/change-requests lists it, for a party to its
    contract; NotVisible for anyone else."""
    visible = _contracts_of(viewer_id).filter(pk=change_request.contract_id).exists()
    if not visible:
        raise NotVisible
    change = ChangeRequest.objects.select_related("requested_by", "responded_by").get(
        pk=change_request.pk
    )
    return _change(change)


@router.get(
    "/contracts/{contract_id}/change-requests",
    response=responses(ChangeRequestPage),
    tags=["co-production"],
    summary="A contract's change requests, newest first",
    **READ,
)
def contracts_changes(
    request, filters: Query[PageParams], contract_id: int = Path(..., ge=1, le=ID_MAX)
):
    contract = _contract_of_party(request, contract_id, PageParams)
    rows, cursor = keyset_page(
        selectors.change_history(contract=contract), filters, field="requested_at"
    )
    return {"results": [_change(c) for c in rows], "next_cursor": cursor}


class ContractEventOut(Out):
    id: int
    action: str = Field(..., examples=["invited", "active", "change_requested", "ended"])
    label: str = Field(..., description="The action in words (Accept-Language).")
    from_status: str | None
    to_status: str | None
    actor_email: str | None = Field(..., description="null: the system (e.g. an end date).")
    change_request_id: int | None
    note: str
    created_at: str


ContractEventPage = page_of(ContractEventOut, "ContractEventPage")


def _event(event: ContractEvent) -> dict:
    return {
        "id": event.pk,
        "action": event.action,
        "label": event.label,
        "from_status": event.from_status or None,
        "to_status": event.to_status or None,
        "actor_email": email_of(event.actor),
        "change_request_id": event.change_request_id,
        "note": event.note_display,
        "created_at": iso(event.created_at),
    }


@router.get(
    "/contracts/{contract_id}/history",
    response=responses(ContractEventPage),
    tags=["co-production"],
    summary="A contract's history, oldest first",
    **READ,
)
def contracts_history(
    request, filters: Query[PageParams], contract_id: int = Path(..., ge=1, le=ID_MAX)
):
    contract = _contract_of_party(request, contract_id, PageParams)
    rows, cursor = keyset_page(
        selectors.contract_events(contract=contract),
        filters,
        field="created_at",
        descending=False,
    )
    return {"results": [_event(e) for e in rows], "next_cursor": cursor}


# ------------------------------------------------------------------------------ withdrawals

WithdrawalStatus = Literal[
    "requested", "in_review", "sent", "paid", "failed", "rejected", "canceled"
]


class WithdrawalOut(Out):
    id: int
    status: WithdrawalStatus
    amount: Money = Field(..., description="Taken from the available balance.")
    fee: Money
    net: Money = Field(..., description="What reaches the payout account.")
    review_reason: str
    rejection_reason: str
    failure: str
    requested_at: str
    sent_at: str | None
    completed_at: str | None


WithdrawalPage = page_of(WithdrawalOut, "WithdrawalPage")


def _withdrawal(withdrawal: Withdrawal) -> dict:
    currency = withdrawal.currency
    return {
        "id": withdrawal.pk,
        "status": withdrawal.status,
        "amount": money(withdrawal.amount_minor, currency),
        "fee": money(withdrawal.fee_minor, currency),
        "net": money(withdrawal.net_minor, currency),
        "review_reason": withdrawal.review_reason,
        "rejection_reason": withdrawal.rejection_reason,
        "failure": withdrawal.failure,
        "requested_at": iso(withdrawal.requested_at),
        "sent_at": iso(withdrawal.sent_at),
        "completed_at": iso(withdrawal.completed_at),
    }


def withdrawal_resource(withdrawal: Withdrawal, viewer_id: int) -> dict:
    """The withdrawal as GET /withdrawals lists it, for its own party only (NotVisible else)."""
    if withdrawal.party_id != viewer_id:
        raise NotVisible
    return _withdrawal(withdrawal)


class WithdrawalFilters(PageParams):
    status: WithdrawalStatus | None = None
    requested_after: When | None = Field(None, description=AFTER)
    requested_before: When | None = Field(None, description=BEFORE)


@router.get(
    "/withdrawals",
    response=responses(WithdrawalPage),
    tags=["earnings"],
    summary="My withdrawals, newest first",
    **READ,
)
def withdrawals_list(request, filters: Query[WithdrawalFilters]):
    queryset = Withdrawal.objects.filter(party=api_user(request, WithdrawalFilters))
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    queryset = date_range(
        queryset,
        "requested_at",
        filters.requested_after,
        filters.requested_before,
        ("requested_after", "requested_before"),
    )
    rows, cursor = keyset_page(queryset, filters, field="requested_at")
    return {"results": [_withdrawal(w) for w in rows], "next_cursor": cursor}
