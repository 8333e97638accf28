"""Sales' outgoing webhooks (accounts.webhook_events): sale.approved, sale.refunded and
sale.chargeback go to every party with a share in the sale (its producer, cocreators and
affiliate: the ledger's beneficiaries), each receiving the sale as the API shows it to them
(the producer every share, the others their own)."""

from collections import defaultdict

from accounts.webhook_events import object_data, publish, publish_many
from products.models import Refund, Sale


def _parties(sale_ids: list[int]) -> dict[int, set[int]]:
    from coproduction.models import LedgerEntry

    parties: dict[int, set[int]] = defaultdict(set)
    rows = (
        LedgerEntry.objects.filter(sale_id__in=sale_ids, beneficiary_id__isnull=False)
        .order_by()
        .values_list("sale_id", "beneficiary_id")
        .distinct()
    )
    for sale_id, party in rows:
        parties[sale_id].add(party)
    return parties


def _sale_data(sale: Sale):
    return object_data("products.api:sale_resource", sale)


def sales_paid(sales: list[Sale]) -> int:
    """Inside the payment path's settle, once its splits are written."""

    def items():
        parties = _parties([s.pk for s in sales])
        return [(f"sale:{s.pk}", sorted(parties[s.pk]), _sale_data(s)) for s in sales]

    return publish_many("sale.approved", items)


def sale_reversed(sale: Sale, refund: Refund) -> int:
    """A refund or chargeback's reversal was written: told to the parties it took from."""
    event = "sale.chargeback" if refund.kind == Refund.Kind.CHARGEBACK else "sale.refunded"
    return publish(
        event,
        key=f"refund:{refund.pk}",
        user_ids=lambda: sorted(_parties([sale.pk])[sale.pk]),
        data=_sale_data(sale),
    )
