"""Co-production errors a person can cause; views show their message."""

from accounts.exceptions import DomainError


class ShareLimitExceeded(DomainError):
    """Cocreators' percentages for some kind of sale would pass 70 %."""
