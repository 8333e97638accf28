"""Every Celery task of the money apps is acknowledged late and has a soft and a hard time
limit; the long billing runs get longer ones."""

import pytest

from config.celery import app

MONEY_APPS = ("products.", "subscriptions.", "coproduction.")
LONG_RUNS = {
    "subscriptions.create_due_recurrences",
    "subscriptions.collect_recurrences",
    "subscriptions.expire_payments",
    "products.retry_refunds",
    "products.reconcile_attempts",
}


def money_tasks():
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if name.startswith(MONEY_APPS))


def test_the_money_tasks_are_found():
    names = money_tasks()
    assert {"products.refund_send", "products.send_receipt", "subscriptions.send_receipts"} < set(
        names
    )
    assert set(names) > LONG_RUNS


@pytest.mark.parametrize("name", money_tasks())
def test_a_money_task_acks_late_and_has_time_limits(name):
    task = app.tasks[name]
    soft = task.soft_time_limit or app.conf.task_soft_time_limit
    hard = task.time_limit or app.conf.task_time_limit

    assert task.acks_late is True
    assert soft and hard and soft < hard
    if name in LONG_RUNS:
        assert (soft, hard) == (25 * 60, 30 * 60)
    else:
        assert (soft, hard) == (5 * 60, 6 * 60)
