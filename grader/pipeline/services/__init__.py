"""Web apps in sandboxes: start, reach one port, wait until ready, test over HTTP and in a
browser. See docs/services.md."""

from grader.pipeline.services.base import RunningService, ServiceExit, ServiceHost, ServiceRequest

__all__ = ["RunningService", "ServiceExit", "ServiceHost", "ServiceRequest"]
