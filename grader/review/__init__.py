"""Reviewing written answers: the local page to make decisions (``grade review``); the
decisions themselves and how they apply are core (``core/decisions.py``, ``core/reviewed.py``)."""
