"""The single exception type of the hashing package."""


class HashingError(ValueError):
    """Input that cannot be hashed canonically; the message names the offending field.

    A ``ValueError`` subclass so that callers validating user input can catch one familiar type.
    """
