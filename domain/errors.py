"""Domain errors: each carries a message a user can read."""


class DomainError(Exception):
    """A rule was broken; the message is safe to show to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(DomainError):
    """Input was malformed or out of range."""


class NotFound(DomainError):
    """The record does not exist (or the actor may not know it exists)."""


class NotAllowed(DomainError):
    """The actor may not do this."""


class SlotTaken(DomainError):
    """Somebody else holds this slot."""

    def __init__(self, message: str = "This slot was just taken. Please pick another time.") -> None:
        super().__init__(message)


class Conflict(DomainError):
    """The change clashes with existing data (duplicate email, overlapping visit, ...)."""
