"""Instructors' tools over a course folder: finding assignments, validating them, writing their
notebooks, documenting the spec."""
