"""Sandboxes: where a submission's kernel runs. One protocol (``base.py``), interchangeable
backends (``local.py``, ``fake.py``, the ``docker`` package), chosen by name (``choose.py``)."""
