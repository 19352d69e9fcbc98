"""What assignment tests use: fixtures come from the plugin, helpers from here."""

from grader.testing.helpers import BUFFER_SUFFIXES, parameter_count, parameters_by_layer, scale

__all__ = ["BUFFER_SUFFIXES", "parameter_count", "parameters_by_layer", "scale"]
