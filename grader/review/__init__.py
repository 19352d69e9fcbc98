"""Reviewing written answers: decisions stored beside the results, and the page to make them."""
