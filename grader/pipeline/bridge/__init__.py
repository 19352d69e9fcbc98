"""The bridge between host-side tests and the kernel that ran a submission."""

from grader.pipeline.bridge.client import Bridge, Handle, TensorRead, Traced

__all__ = ["Bridge", "Handle", "TensorRead", "Traced"]
