"""Renderers of results: console (rich), and more formats as they come. Never in the models."""
