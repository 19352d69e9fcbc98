"""What assignment tests use: fixtures come from the grader's plugin (``nb``, ``assignment``,
``public_data``, ``hidden_data``, ``answers``, ``artifacts``, ``credit``, ``measure`` and the
assignment's evaluators), helpers from here. See docs/instructors.md."""

from grader.testing.helpers import BUFFER_SUFFIXES, parameter_count, parameters_by_layer, scale

__all__ = ["BUFFER_SUFFIXES", "parameter_count", "parameters_by_layer", "scale"]
