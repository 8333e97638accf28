"""Beat tasks for co-production."""

from celery import shared_task

from coproduction.services.contracts import contracts_expire


@shared_task(name="coproduction.expire_contracts")
def expire_contracts() -> int:
    """Daily: active contracts whose end date has passed become Expired. Idempotent."""
    return contracts_expire()
