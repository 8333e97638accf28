"""Co-production's outgoing webhooks (accounts.webhook_events), told to both parties of the
contract (its product's producer and the cocreator): invitation.answered (accepted or
declined), change_request.answered (accepted or refused), contract.ended (ended by agreement
or expired); and payout.paid to the party paid."""

from accounts.webhook_events import object_data, publish
from coproduction.models import ChangeRequest, Contract, Withdrawal

ANSWERED = {Contract.Status.ACTIVE, Contract.Status.DECLINED}
ENDED = {Contract.Status.ENDED, Contract.Status.EXPIRED}


def _parties(contract: Contract):
    return lambda: [contract.product.producer_id, contract.cocreator_id]


def contract_moved(contract: Contract, *, from_: str, to: str) -> int:
    """From contract_transition, for every status change."""
    if from_ == Contract.Status.PENDING and to in ANSWERED:
        event = "invitation.answered"
    elif to in ENDED:
        event = "contract.ended"
    else:
        return 0
    return publish(
        event,
        key=f"contract:{contract.pk}:{to}",
        user_ids=_parties(contract),
        data=object_data("coproduction.api:contract_resource", contract, status=from_),
    )


def change_answered(change: ChangeRequest) -> int:
    if change.status not in (ChangeRequest.Status.ACCEPTED, ChangeRequest.Status.REFUSED):
        return 0
    return publish(
        "change_request.answered",
        key=f"change:{change.pk}",
        user_ids=_parties(change.contract),
        data=object_data("coproduction.api:change_request_resource", change),
    )


def payout_paid(withdrawal: Withdrawal) -> int:
    return publish(
        "payout.paid",
        key=f"withdrawal:{withdrawal.pk}",
        user_ids=[withdrawal.party_id],
        data=object_data("coproduction.api:withdrawal_resource", withdrawal),
    )
