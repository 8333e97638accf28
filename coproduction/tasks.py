"""Beat tasks for co-production."""

from celery import shared_task

from coproduction.services.contracts import contracts_expire


@shared_task(name="coproduction.expire_contracts")
def expire_contracts() -> int:
    """Daily: active contracts whose end date is over in the producer's time zone become
    Expired. Idempotent. Only the status waits for it: the ledger decides by the dates."""
    return contracts_expire()


@shared_task(name="coproduction.remind_expiring_contracts")
def remind_expiring_contracts() -> int:
    """Hourly: both parties hear once, in the 7 days before its end date, that a contract ends."""
    from coproduction.services.contracts import contracts_remind_expiring

    return contracts_remind_expiring()
