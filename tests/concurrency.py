"""Race-test harness: real threads, released together, each on its own database connection."""

import threading

from django.db import connection


def run_together(*calls, timeout: float = 60) -> list:
    """Run each call in its own thread, all released at once; return each result or error."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # the test inspects what each thread raised
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    return results


def errors(results) -> list[Exception]:
    return [result for result in results if isinstance(result, Exception)]
