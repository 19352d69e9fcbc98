"""What assignment tests use: fixtures come from the plugin, helpers from here."""

from grader.testing.helpers import parameter_count, parameters_by_layer, scale

__all__ = ["parameter_count", "parameters_by_layer", "scale"]
