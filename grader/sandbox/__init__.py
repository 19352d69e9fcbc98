"""Sandboxes: where a submission's kernel runs. One protocol, interchangeable backends."""

from grader.sandbox.base import KernelRequest, Mount, Sandbox

__all__ = ["KernelRequest", "Mount", "Sandbox"]
