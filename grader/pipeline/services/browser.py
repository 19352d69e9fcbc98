"""A real browser on an app's page: Debian's Chromium driven by Playwright, sandboxed.

The page is a student's: untrusted content. So Chromium keeps its own sandbox on (never
``--no-sandbox``) and, when the grader runs as root, runs as an unprivileged user (``nobody``,
via ``setpriv``) with a fresh profile; background networking, component updates and sync are
off; every request that leaves the app's own origin (other hosts, other ports of this
machine, ``file://``) is aborted and recorded; service workers and downloads are refused.
Playwright never downloads a browser here: ``executable_path`` is the system's Chromium.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from grader.core.errors import GraderError
from grader.sandbox import scratch

CHROMIUM = os.environ.get("GRADER_CHROMIUM", "/usr/bin/chromium")
NOBODY = 65534
FLAGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
]
INSTALL_HINT = (
    "install Debian's Chromium and Playwright's Python package: "
    "`apt-get install chromium` and `pip install playwright` (never `playwright install`)"
)


@dataclass
class Visit:
    """What the browser saw besides the page: requests it refused to send."""

    blocked: list[str] = field(default_factory=list)


def browser_available() -> str:
    """Empty when a browser check can run here, else why not."""
    if shutil.which(CHROMIUM) is None:
        return f"no Chromium at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright's Python package is not installed"
    return ""


@contextmanager
def browser_page(url: str, *, timeout_s: float = 30.0) -> Iterator[tuple[Any, Visit]]:
    """A Playwright page that may talk to ``url``'s origin only, and what it tried besides."""
    missing = browser_available()
    if missing:
        raise GraderError(f"the browser check cannot run: {missing}", hint=INSTALL_HINT)
    from playwright.sync_api import sync_playwright

    origin = _origin(url)
    visit = Visit()
    profile_dir = tempfile.TemporaryDirectory(prefix=scratch.prefix("browser"))
    with profile_dir as tmp, sync_playwright() as pw:
        profile, executable = _profile(Path(tmp))
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            chromium_sandbox=True,
            headless=True,
            args=FLAGS,
            service_workers="block",
            accept_downloads=False,
            viewport={"width": 1280, "height": 900},
            env=_env(profile),
        )
        try:
            context.set_default_timeout(timeout_s * 1000)
            context.route("**/*", lambda route: _only(route, origin, visit))
            page = context.pages[0] if context.pages else context.new_page()
            yield page, visit
        finally:
            context.close()


def _only(route: Any, origin: str, visit: Visit) -> None:
    url = str(route.request.url)
    if _origin(url) == origin:
        route.continue_()
        return
    if len(visit.blocked) < 50:
        visit.blocked.append(url[:200])
    route.abort("blockedbyclient")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _profile(tmp: Path) -> tuple[Path, str]:
    """A fresh profile; as root, a wrapper that starts Chromium as ``nobody`` (with its sandbox:
    Chromium refuses to sandbox itself as root)."""
    profile = tmp / "profile"
    profile.mkdir()
    if os.geteuid() != 0:
        return profile, CHROMIUM
    os.chmod(tmp, 0o755)
    os.chown(profile, NOBODY, NOBODY)
    wrapper = tmp / "chromium"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups "
        f'--inh-caps=-all "{CHROMIUM}" "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    return profile, str(wrapper)


def _env(profile: Path) -> dict[str, str | float | bool]:
    return {
        "HOME": str(profile),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(profile),
        "XDG_CACHE_HOME": str(profile),
    }
