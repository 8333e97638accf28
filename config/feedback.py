"""Run a service from a view and tell the person how it went."""

from collections.abc import Callable

from django.contrib import messages

from accounts.exceptions import DomainError


def act(request, action: Callable[[], object], success: str) -> bool:
    """Call `action`; a domain error becomes an error message, success a success message."""
    try:
        action()
    except DomainError as exc:
        messages.error(request, exc.message)
        return False
    messages.success(request, success)
    return True
