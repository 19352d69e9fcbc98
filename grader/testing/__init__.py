"""What assignment tests use: fixtures come from the plugin, helpers from here."""

from grader.testing.helpers import scale

__all__ = ["scale"]
