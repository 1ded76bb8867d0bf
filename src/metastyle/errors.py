"""The one exception type that the command line turns into a one-line message."""


class MetastyleError(Exception):
    """A problem with the user's input or environment, explained in one line."""
