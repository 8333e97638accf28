"""Beat tasks for co-production."""

from celery import shared_task

from coproduction.services.contracts import contracts_expire


@shared_task(name="coproduction.expire_contracts")
def expire_contracts() -> int:
    """Daily: active contracts whose end date is over in the producer's time zone become
    Expired. Idempotent. Only the status waits for it: the ledger decides by the dates."""
    return contracts_expire()
