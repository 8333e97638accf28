"""Reads for co-production screens: querysets with their joins done, and the share preview."""

from dataclasses import dataclass
from decimal import Decimal

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
