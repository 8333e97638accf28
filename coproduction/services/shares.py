"""The 30 %/70 % rule: per kind of sale (direct; each affiliate), the cocreator percentages of
the contracts that can still pay stay at most 70 %: active contracts, pending invitations and
pending changes, and ended or expired contracts with automatic sales recovery for as long as a
subscription sold while they were in force can still be billed."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from coproduction.dates import (
    contract_in_force_until,
    producer_zone,
    subscription_first_payment_expression,
)
from coproduction.exceptions import ShareLimitExceeded
from coproduction.models import MAX_SHARE_PERCENT, ChangeRequest, Contract
from products.models import Affiliation, Product

DIRECT = "direct"
ANY_AFFILIATE = "any-affiliate"  # an affiliate no contract names (including future ones)
ZERO = Decimal("0")


@dataclass(frozen=True)
class ShareTerms:
    """The share-relevant terms of a contract, as they are or as a change proposes them."""

    sales_scope: str
    commission_percent: Decimal
    affiliate_commission_percent: Decimal | None = None
    all_affiliates: bool = True
    affiliate_ids: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def of(cls, contract: Contract) -> "ShareTerms":
        return cls(
            sales_scope=contract.sales_scope,
            commission_percent=contract.commission_percent,
            affiliate_commission_percent=contract.affiliate_commission_percent,
            all_affiliates=contract.all_affiliates,
            affiliate_ids=_affiliate_ids(contract),
        )

    def with_changes(self, after: dict) -> "ShareTerms":
        """These terms with a change request's proposed values applied."""
        values = {
            "sales_scope": after.get("sales_scope", self.sales_scope),
            "commission_percent": self.commission_percent,
            "affiliate_commission_percent": self.affiliate_commission_percent,
            "all_affiliates": self.all_affiliates,
            "affiliate_ids": self.affiliate_ids,
        }
        for name in ("commission_percent", "affiliate_commission_percent"):
            if name in after:
                values[name] = Decimal(after[name]) if after[name] is not None else None
        if "affiliates" in after:
            values["all_affiliates"] = after["affiliates"]["all"]
            values["affiliate_ids"] = frozenset(a["id"] for a in after["affiliates"]["chosen"])
        return ShareTerms(**values)

    def percent_for(self, kind) -> Decimal:
        if kind == DIRECT:
            return self.commission_percent if self.sales_scope in ("all", "direct") else ZERO
        if self.sales_scope not in ("all", "affiliate"):
            return ZERO
        if not self.all_affiliates and kind not in self.affiliate_ids:
            return ZERO
        return self.affiliate_commission_percent or self.commission_percent


@dataclass(frozen=True)
class ShareTotal:
    kind: object
    label: str
    percent: Decimal

    @property
    def exceeded(self) -> bool:
        return self.percent > MAX_SHARE_PERCENT


def possible_terms(contract: Contract) -> list[ShareTerms]:
    """The terms that could apply to a live contract: the current ones and any pending change
    (needs the `pending_changes` prefetch of live_contracts)."""
    current = ShareTerms.of(contract)
    pending = getattr(contract, "pending_changes", [])
    return [current, *(current.with_changes(change.after) for change in pending)]


def largest_percent(alternatives: list[ShareTerms], kind) -> Decimal:
    return max(terms.percent_for(kind) for terms in alternatives)


def _affiliate_ids(contract: Contract) -> frozenset[int]:
    """The contract's chosen affiliates: as live_contracts read them (one array a contract),
    else from the relation."""
    ids = getattr(contract, "chosen_affiliate_ids", None)
    if ids is None:
        return frozenset(a.pk for a in contract.affiliates.all())
    return frozenset(ids)


def live_contracts(product: Product) -> list[Contract]:
    """The contracts that can still pay on this product's sales (see the module docstring),
    with what the rule needs (their terms, affiliates and pending changes; not their
    cocreators: 30 users read for nothing on every Invite cocreator page), in a fixed number
    of queries."""
    contracts = list(
        Contract.objects.filter(product=product)
        .filter(
            Q(status__in=Contract.LIVE)
            | Q(
                status__in=[Contract.Status.ENDED, Contract.Status.EXPIRED],
                automatic_sales_recovery=True,
                accepted_at__isnull=False,
            )
        )
        # The chosen affiliates' ids as one array a contract: a prefetch built a related
        # manager and an Affiliation per row for the rule to read their ids only.
        .annotate(
            chosen_affiliate_ids=ArraySubquery(
                Contract.affiliates.through.objects.filter(contract_id=OuterRef("pk")).values(
                    "affiliation_id"
                )
            )
        )
        .prefetch_related(_pending_changes_prefetch())
    )
    closed = [contract for contract in contracts if not contract.is_live]
    if not closed:
        return contracts
    paying = _still_recovering(product, closed)
    return [contract for contract in contracts if contract.is_live or contract.pk in paying]


def _still_recovering(product: Product, contracts: list[Contract]) -> set[int]:
    """Which closed contracts with recovery still have a subscription to pay on: one the
    billing run may still charge (Active or Overdue) whose first payment was made while the
    contract was in force. One query (plus the producer's zone, if not loaded)."""
    zone = producer_zone(product.producer)
    subscriptions = product.subscriptions
    billable = subscriptions.filter(status__in=subscriptions.model.BILLABLE).annotate(
        first_paid=subscription_first_payment_expression()
    )
    checks = {}
    for contract in contracts:
        window = Q(first_paid__gte=contract.accepted_at)
        until = contract_in_force_until(contract, zone)
        if until is not None:
            window &= Q(first_paid__lt=until)
        checks[f"c{contract.pk}"] = Exists(billable.filter(window))
    row = Product.objects.filter(pk=product.pk).values(**checks).get()
    return {contract.pk for contract in contracts if row[f"c{contract.pk}"]}


def _pending_changes_prefetch():
    from django.db.models import Prefetch

    return Prefetch(
        "changes",
        queryset=ChangeRequest.objects.filter(
            status=ChangeRequest.Status.PENDING, kind=ChangeRequest.Kind.CHANGE
        ),
        to_attr="pending_changes",
    )


def share_totals(
    *,
    product: Product,
    contracts: Iterable[Contract],
    replace: dict[int, list[ShareTerms]] | None = None,
    extra: Iterable[ShareTerms] = (),
    affiliations: Iterable[Affiliation] | None = None,
) -> list[ShareTotal]:
    """Totals per kind of sale. Each contract counts with the largest of its possible terms
    (current and pending change); `replace` swaps a contract's possibilities, `extra` adds new."""
    replace = replace or {}
    options: list[list[ShareTerms]] = []
    for contract in contracts:
        if contract.pk in replace:
            options.append(replace[contract.pk])
            continue
        options.append(possible_terms(contract))
    options += [[terms] for terms in extra]

    if affiliations is None:
        affiliations = product.affiliations.filter(
            status=Affiliation.Status.APPROVED
        ).select_related("affiliate")
    labels = {
        a.pk: _("sales by affiliate %(email)s") % {"email": a.affiliate.email} for a in affiliations
    }
    named = {pk for alternatives in options for t in alternatives for pk in t.affiliate_ids}
    kinds = [(DIRECT, _("direct sales")), (ANY_AFFILIATE, _("affiliate sales"))]
    kinds += [
        (pk, labels.get(pk, _("sales by a chosen affiliate"))) for pk in sorted(set(labels) | named)
    ]

    totals = []
    for kind, label in kinds:
        percent = sum((largest_percent(alternatives, kind) for alternatives in options), ZERO)
        totals.append(ShareTotal(kind, label, percent))
    return totals


def share_check(**kwargs) -> list[ShareTotal]:
    """Raise ShareLimitExceeded when any kind of sale passes 70 %. Call with the product locked."""
    totals = share_totals(**kwargs)
    over = max(totals, key=lambda t: t.percent)
    if over.exceeded:
        raise ShareLimitExceeded(
            _(
                "The producer must keep at least %(keep)s %% of every sale: %(label)s would "
                "share %(percent)s %% with cocreators, counting active contracts, pending "
                "invitations and changes, and ended contracts that still pay through automatic "
                "sales recovery (at most %(max)s %%)."
            )
            % {
                "keep": 100 - MAX_SHARE_PERCENT,
                "label": over.label,
                "percent": f"{over.percent.normalize():f}",
                "max": MAX_SHARE_PERCENT,
            }
        )
    return totals
