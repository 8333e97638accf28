"""Reads for co-production screens: querysets with their joins done, and the share preview."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from accounts.models import User
from coproduction.models import ChangeRequest, Contract, ContractEvent, TermsOfUse
from coproduction.services.shares import (
    ANY_AFFILIATE,
    DIRECT,
    ShareTerms,
    ShareTotal,
    largest_percent,
    live_contracts,
    possible_terms,
    share_totals,
)
from coproduction.split import AFFILIATE, COCREATOR, PLATFORM, PRODUCER, platform_fee_settings
from coproduction.split import split_amount as split
from products.models import Affiliation, Product
from products.money import format_money

DEFAULT_PREVIEW_PRICE_MINOR = 10000


def _pending_changes():
    return Prefetch(
        "changes",
        queryset=ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING).select_related(
            "requested_by"
        ),
        to_attr="pending_changes",
    )


def terms_of_use_current() -> TermsOfUse | None:
    return TermsOfUse.objects.order_by("-version").first()


def products_for_producer(*, producer: User) -> QuerySet[Product]:
    return Product.objects.filter(producer=producer).order_by("name", "pk")


def contracts_for_product(*, product: Product) -> QuerySet[Contract]:
    return (
        product.contracts.select_related("cocreator")
        .prefetch_related(_pending_changes())
        .order_by("-invited_at", "-pk")
    )


def _contracts() -> QuerySet[Contract]:
    return Contract.objects.select_related("product__producer", "cocreator", "terms")


def contract_get_for_producer(*, user: User, pk: int) -> Contract:
    return get_object_or_404(_contracts(), pk=pk, product__producer=user)


def contract_get_for_cocreator(*, user: User, pk: int) -> Contract:
    return get_object_or_404(
        _contracts().prefetch_related("affiliates__affiliate"), pk=pk, cocreator=user
    )


def contract_get_for_party(*, user: User, pk: int) -> Contract:
    """The producer or the cocreator of the contract; anyone else gets a 404."""
    contract = get_object_or_404(_contracts(), pk=pk)
    if user.pk not in (contract.product.producer_id, contract.cocreator_id):
        from django.http import Http404

        raise Http404
    return contract


def contracts_for_cocreator(*, user: User, tab: str) -> QuerySet[Contract]:
    statuses = (
        [Contract.Status.PENDING]
        if tab == "invitations"
        else [Contract.Status.ACTIVE, Contract.Status.ENDED, Contract.Status.EXPIRED]
    )
    return (
        Contract.objects.filter(cocreator=user, status__in=statuses)
        .select_related("product__producer")
        .prefetch_related(_pending_changes())
        .order_by("status", "-invited_at", "-pk")
    )


def change_history(*, contract: Contract) -> QuerySet[ChangeRequest]:
    return contract.changes.select_related("requested_by", "responded_by").order_by(
        "-requested_at", "-pk"
    )


def contract_events(*, contract: Contract) -> QuerySet[ContractEvent]:
    return contract.events.select_related("actor", "change_request").order_by("created_at", "pk")


# ---------------------------------------------------------------------------------------------
# Dashboards: what waits for each side, and a cocreator's contracts. Each list links to the
# screen where it is answered. The dashboard is read on every visit and its lists are usually
# empty: the rows of all of one side's lists are found in one statement (ids, in each list's
# order), then read with their joins in one query per model, only for the lists that have rows.

ACCEPTED = (Contract.Status.ACTIVE, Contract.Status.ENDED, Contract.Status.EXPIRED)
# How long an answer to the producer's own request stays on their dashboard.
ANSWERED_DAYS = 30

# Each list is a SELECT of (list, id, place in the list), `count` + 1 rows at most (one more
# says "more"): PostgreSQL does not promise to keep a UNION ALL's rows in order.
_PRODUCER_WAITING_SQL = """
(SELECT 'terminations', c.id, row_number() OVER (ORDER BY c.requested_at, c.id)
   FROM {change} c
   JOIN {contract} k ON k.id = c.contract_id
   JOIN {product} p ON p.id = k.product_id
  WHERE p.producer_id = %(user)s AND c.status = %(pending)s AND c.requested_by_id <> %(user)s
  ORDER BY c.requested_at, c.id
  LIMIT %(limit)s)
UNION ALL
(SELECT 'answered', c.id, row_number() OVER (ORDER BY c.responded_at DESC, c.id DESC)
   FROM {change} c
   JOIN {contract} k ON k.id = c.contract_id
   JOIN {product} p ON p.id = k.product_id
  WHERE p.producer_id = %(user)s AND c.requested_by_id = %(user)s
    AND c.status = ANY(%(answered)s) AND c.responded_at >= %(since)s
  ORDER BY c.responded_at DESC, c.id DESC
  LIMIT %(limit)s)
UNION ALL
(SELECT 'affiliations', a.id, row_number() OVER (ORDER BY a.requested_at, a.id)
   FROM {affiliation} a
   JOIN {product} p ON p.id = a.product_id
  WHERE p.producer_id = %(user)s AND a.status = %(affiliation_pending)s
  ORDER BY a.requested_at, a.id
  LIMIT %(limit)s)
"""

_COCREATOR_WAITING_SQL = """
(SELECT 'invitations', k.id, row_number() OVER (ORDER BY k.invited_at, k.id)
   FROM {contract} k
  WHERE k.cocreator_id = %(user)s AND k.status = %(invited)s
  ORDER BY k.invited_at, k.id
  LIMIT %(limit)s)
UNION ALL
(SELECT 'changes', c.id, row_number() OVER (ORDER BY c.requested_at, c.id)
   FROM {change} c
   JOIN {contract} k ON k.id = c.contract_id
  WHERE k.cocreator_id = %(user)s AND c.status = %(pending)s AND c.requested_by_id <> %(user)s)
UNION ALL
(SELECT 'contracts', k.id, row_number() OVER (
            ORDER BY k.status <> %(active)s, k.end_date ASC NULLS LAST,
                     k.closed_at DESC NULLS LAST, k.id DESC)
   FROM {contract} k
  WHERE k.cocreator_id = %(user)s AND k.status = ANY(%(accepted)s)
  ORDER BY k.status <> %(active)s, k.end_date ASC NULLS LAST, k.closed_at DESC NULLS LAST,
           k.id DESC
  LIMIT %(limit)s)
"""


def _tables() -> dict[str, str]:
    return {
        "change": ChangeRequest._meta.db_table,
        "contract": Contract._meta.db_table,
        "product": Product._meta.db_table,
        "affiliation": Affiliation._meta.db_table,
    }


def _waiting_ids(sql: str, params: dict) -> dict[str, list[int]]:
    """Each list's ids, in its order."""
    with connection.cursor() as cursor:
        cursor.execute(sql.format(**_tables()), params)
        rows = sorted(cursor.fetchall(), key=lambda row: (row[0], row[2]))
    found: dict[str, list[int]] = {}
    for name, pk, _place in rows:
        found.setdefault(name, []).append(pk)
    return found


def _read(queryset: QuerySet, *id_lists: list[int]) -> list[list]:
    """The rows of each id list, in its order, in one query (none when every list is empty);
    a row gone since its id was read is left out."""
    wanted = [pk for ids in id_lists for pk in ids]
    rows = queryset.in_bulk(wanted) if wanted else {}
    return [[rows[pk] for pk in ids if pk in rows] for ids in id_lists]


def _first(rows: list, count: int) -> tuple[list, bool]:
    return rows[:count], len(rows) > count


def _changes() -> QuerySet[ChangeRequest]:
    return ChangeRequest.objects.select_related(
        "contract__product__producer", "contract__cocreator", "requested_by"
    )


@dataclass
class ProducerWaiting:
    """What waits for a producer: the first `count` of each list, and whether there are more."""

    terminations: list[ChangeRequest]
    more_terminations: bool
    answered: list[ChangeRequest]
    more_answered: bool
    affiliations: list[Affiliation]
    more_affiliations: bool


def producer_waiting(*, producer: User, since, count: int) -> ProducerWaiting:
    """Requests a cocreator made (the end of a co-production) on the producer's products,
    still waiting for the producer's answer, oldest first; the producer's own requests a
    cocreator accepted or refused since `since`, newest first (withdrawn ones were the
    producer's own doing); affiliation requests on their products waiting for a decision,
    oldest first. One to three queries, whatever the number of rows."""
    ids = _waiting_ids(
        _PRODUCER_WAITING_SQL,
        {
            "user": producer.pk,
            "pending": ChangeRequest.Status.PENDING.value,
            "answered": [ChangeRequest.Status.ACCEPTED.value, ChangeRequest.Status.REFUSED.value],
            "since": since,
            "affiliation_pending": Affiliation.Status.PENDING.value,
            "limit": count + 1,
        },
    )
    terminations, answered = _read(_changes(), ids.get("terminations", []), ids.get("answered", []))
    [affiliations] = _read(
        Affiliation.objects.select_related("product", "affiliate"), ids.get("affiliations", [])
    )
    return ProducerWaiting(
        *_first(terminations, count), *_first(answered, count), *_first(affiliations, count)
    )


@dataclass
class CocreatorWaiting:
    """What waits for a cocreator, and their contracts (the first `count`, and whether there
    are more; every change waiting for them: one at most per contract)."""

    invitations: list[Contract]
    more_invitations: bool
    changes: list[ChangeRequest]
    terminations: list[ChangeRequest]
    contracts: list[Contract]
    more_contracts: bool


def cocreator_waiting(*, cocreator: User, count: int) -> CocreatorWaiting:
    """Invitations the cocreator has not answered yet, oldest first; the producer's changes of
    terms and termination requests on their contracts waiting for their answer, oldest first;
    their accepted contracts: active ones first, the soonest end date first (eternal ones
    last), then ended and expired ones, most recently closed first. One to three queries,
    whatever the number of rows."""
    ids = _waiting_ids(
        _COCREATOR_WAITING_SQL,
        {
            "user": cocreator.pk,
            "invited": Contract.Status.PENDING.value,
            "pending": ChangeRequest.Status.PENDING.value,
            "active": Contract.Status.ACTIVE.value,
            "accepted": [status.value for status in ACCEPTED],
            "limit": count + 1,
        },
    )
    invitations, contracts = _read(
        Contract.objects.select_related("product__producer"),
        ids.get("invitations", []),
        ids.get("contracts", []),
    )
    [changes] = _read(_changes(), ids.get("changes", []))
    invitations, more_invitations = _first(invitations, count)
    contracts, more_contracts = _first(contracts, count)
    return CocreatorWaiting(
        invitations=invitations,
        more_invitations=more_invitations,
        changes=[c for c in changes if c.kind == ChangeRequest.Kind.CHANGE],
        terminations=[c for c in changes if c.kind == ChangeRequest.Kind.TERMINATION],
        contracts=contracts,
        more_contracts=more_contracts,
    )


# ---------------------------------------------------------------------------------------------
# Share preview: what each side would earn on one direct and one affiliate sale.


@dataclass(frozen=True)
class PreviewLine:
    label: str
    amount: str
    emphasis: bool = False


@dataclass(frozen=True)
class SharePreview:
    price: str
    direct: list[PreviewLine]
    affiliate: list[PreviewLine]
    totals: list[ShareTotal]
    error: str

    @property
    def direct_total(self) -> ShareTotal:
        return self.totals[0]


def preview_price_minor(product: Product) -> int:
    if product.price_minor:
        return product.price_minor
    plan = product.plans.filter(is_active=True).order_by("price_minor").first()
    return plan.price_minor if plan else DEFAULT_PREVIEW_PRICE_MINOR


def share_preview(
    *, product: Product, terms: ShareTerms | None, contract: Contract | None = None
) -> SharePreview:
    """Preview a new invitation (contract=None) or a change to `contract`."""
    contracts = live_contracts(product)
    affiliations = list(
        product.affiliations.filter(status=Affiliation.Status.APPROVED).select_related("affiliate")
    )
    replace, extra = {}, []
    if terms is not None:
        if contract is None:
            extra = [terms]
        else:
            current = ShareTerms.of(next(c for c in contracts if c.pk == contract.pk))
            replace = {contract.pk: [current, terms]}
    totals = share_totals(
        product=product,
        contracts=contracts,
        replace=replace,
        extra=extra,
        affiliations=affiliations,
    )
    over = [t for t in totals if t.exceeded]
    error = ""
    if over:
        worst = max(over, key=lambda t: t.percent)
        error = _(
            "Too much: %(label)s would share %(percent)s %% with cocreators. The producer keeps "
            "at least 30 %%, so at most 70 %% in all."
        ) % {"label": worst.label, "percent": f"{worst.percent.normalize():f}"}

    price = preview_price_minor(product)
    currency = product.currency
    fee_percent, fee_fixed = platform_fee_settings(currency)
    others = [c for c in contracts if contract is None or c.pk != contract.pk]

    alternatives = [possible_terms(c) for c in others]

    def lines(kind, affiliate_percent: Decimal | None) -> list[PreviewLine]:
        mine = terms.percent_for(kind) if terms else Decimal(0)
        other = sum((largest_percent(terms_of, kind) for terms_of in alternatives), Decimal(0))
        cocreators = [("this", mine)]
        if other:
            cocreators.append(("others", other))
        parts = split(
            price,
            fee_percent=fee_percent,
            fee_fixed_minor=fee_fixed,
            affiliate_percent=affiliate_percent,
            cocreator_percents=cocreators if not error else [],
        )
        labels = {PLATFORM: _("Platform fee"), AFFILIATE: _("Affiliate"), PRODUCER: _("Producer")}
        result = []
        for part in parts:
            if part.role == COCREATOR:
                label = _("This cocreator") if part.key == "this" else _("Other cocreators")
            else:
                label = labels[part.role]
            result.append(
                PreviewLine(label, format_money(part.amount_minor, currency), part.key == "this")
            )
        return result

    chosen = sorted(terms.affiliate_ids) if terms and not terms.all_affiliates else []
    by_pk = {a.pk: a for a in affiliations}
    affiliate_kind = chosen[0] if chosen else ANY_AFFILIATE
    affiliate_percent = (
        by_pk[affiliate_kind].commission_percent
        if affiliate_kind in by_pk
        else product.affiliate_commission_percent
    )
    return SharePreview(
        price=format_money(price, currency),
        direct=lines(DIRECT, None),
        affiliate=lines(affiliate_kind, affiliate_percent),
        totals=totals,
        error=error,
    )
