"""Domain errors the user can cause; views turn them into form errors or messages."""


class DomainError(Exception):
    """Base for errors that carry a message fit to show a person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidTransition(DomainError):
    """A state machine was asked for a move its table does not allow."""


class PermissionDenied(DomainError):
    """The actor may not do this."""
