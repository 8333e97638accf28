"""Reads for co-production screens: querysets with their joins done, and the share preview."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, F, Prefetch, QuerySet, Value, When
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
# screen where it is answered; each is one query however long it is.

ACCEPTED = (Contract.Status.ACTIVE, Contract.Status.ENDED, Contract.Status.EXPIRED)
# How long an answer to the producer's own request stays on their dashboard.
ANSWERED_DAYS = 30


def _pending_requests() -> QuerySet[ChangeRequest]:
    return ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING).select_related(
        "contract__product__producer", "contract__cocreator", "requested_by"
    )


def changes_waiting_for_producer(*, producer: User) -> QuerySet[ChangeRequest]:
    """Requests a cocreator made (the end of a co-production) on the producer's products,
    still waiting for the producer's answer, oldest first."""
    return (
        _pending_requests()
        .filter(contract__product__producer=producer)
        .exclude(requested_by=producer)
        .order_by("requested_at", "pk")
    )


def changes_answered_for_producer(*, producer: User, since) -> QuerySet[ChangeRequest]:
    """The producer's own requests a cocreator accepted or refused since `since`, newest
    first (withdrawn ones were the producer's own doing)."""
    return (
        ChangeRequest.objects.filter(
            contract__product__producer=producer,
            requested_by=producer,
            status__in=[ChangeRequest.Status.ACCEPTED, ChangeRequest.Status.REFUSED],
            responded_at__gte=since,
        )
        .select_related("contract__product", "contract__cocreator")
        .order_by("-responded_at", "-pk")
    )


def affiliations_waiting(*, producer: User) -> QuerySet[Affiliation]:
    """Affiliation requests on the producer's products waiting for a decision, oldest first."""
    return (
        Affiliation.objects.filter(product__producer=producer, status=Affiliation.Status.PENDING)
        .select_related("product", "affiliate")
        .order_by("requested_at", "pk")
    )


def invitations_waiting(*, cocreator: User) -> QuerySet[Contract]:
    """Invitations the cocreator has not answered yet, oldest first."""
    return (
        Contract.objects.filter(cocreator=cocreator, status=Contract.Status.PENDING)
        .select_related("product__producer")
        .order_by("invited_at", "pk")
    )


def changes_waiting_for_cocreator(*, cocreator: User) -> QuerySet[ChangeRequest]:
    """The producer's changes of terms and termination requests on the cocreator's contracts,
    waiting for the cocreator's answer, oldest first."""
    return (
        _pending_requests()
        .filter(contract__cocreator=cocreator)
        .exclude(requested_by=cocreator)
        .order_by("requested_at", "pk")
    )


def contracts_of_cocreator(*, cocreator: User) -> QuerySet[Contract]:
    """The cocreator's accepted contracts: active ones first, the soonest end date first
    (eternal ones last), then ended and expired ones, most recently closed first."""
    active_first = Case(When(status=Contract.Status.ACTIVE, then=Value(0)), default=Value(1))
    return (
        Contract.objects.filter(cocreator=cocreator, status__in=ACCEPTED)
        .select_related("product__producer")
        .order_by(
            active_first,
            F("end_date").asc(nulls_last=True),
            F("closed_at").desc(nulls_last=True),
            "-pk",
        )
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

    def lines(kind, affiliate_percent: Decimal | None) -> list[PreviewLine]:
        mine = terms.percent_for(kind) if terms else Decimal(0)
        other = sum((largest_percent(possible_terms(c), kind) for c in others), Decimal(0))
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
