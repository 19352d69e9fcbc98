"""Renderers of stored results (console, feedback, Gradescope, gradebook, JUnit, summary,
histogram); they depend on ``grader.core`` only. Never in the models."""
