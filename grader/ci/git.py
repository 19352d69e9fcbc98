"""The git commands ``grade ci`` needs: read-only, NUL-separated (file names are data)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from grader.errors import GraderError

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
"""git's id of the empty tree: the base of a repository's first commit."""
FETCH_TIMEOUT = 120


class Git:
    """One repository, as the CI job checked it out."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(
                ["git", "-C", str(self.repo), *args],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GraderError(
                f"git {args[0]} failed in {self.repo}: {exc}",
                hint="grade ci needs git and the repository the job checked out",
            ) from exc

    def out(self, *args: str) -> str:
        done = self._run(*args)
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip().splitlines()
            raise GraderError(
                f"git {' '.join(args[:2])} failed in {self.repo}: "
                f"{detail[-1] if detail else done.returncode}",
                hint="run grade ci in the repository the job checked out",
            )
        return done.stdout.decode("utf-8", errors="surrogateescape")

    def ok(self, *args: str) -> bool:
        return self._run(*args).returncode == 0

    def has_commit(self, sha: str) -> bool:
        return bool(sha) and self.ok("cat-file", "-e", f"{sha}^{{commit}}")

    def head(self) -> str:
        return self.out("rev-parse", "HEAD").strip()

    def parents(self, sha: str) -> list[str]:
        return self.out("rev-list", "--parents", "-n", "1", sha).split()[1:]

    def diff(self, base: str, head: str) -> list[str]:
        """Paths that differ between two commits (renames as a deletion and an addition)."""
        return _split(
            self.out("diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", base, head)
        )

    def files(self, sha: str) -> list[str]:
        return _split(self.out("ls-tree", "-r", "-z", "--name-only", sha))

    def tracked(self, *paths: str) -> list[str]:
        return _split(self.out("ls-files", "-z", "--", *paths))

    def merge_base(self, a: str, b: str) -> str:
        done = self._run("merge-base", a, b)
        return done.stdout.decode().strip() if done.returncode == 0 else ""

    def is_ancestor(self, a: str, b: str) -> bool:
        return self.ok("merge-base", "--is-ancestor", a, b)

    def show(self, sha: str, path: str) -> bytes | None:
        done = self._run("show", f"{sha}:{path}")
        return done.stdout if done.returncode == 0 else None

    def ref(self, *names: str) -> str:
        """The commit of the first of ``names`` that exists, or ''."""
        for name in names:
            done = self._run("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}")
            if done.returncode == 0:
                return done.stdout.decode().strip()
        return ""

    def fetch(self, sha: str) -> bool:
        """Try to fetch one commit from ``origin`` (after a force-push, or a shallow clone)."""
        if not self.ok("remote", "get-url", "origin"):
            return False
        shallow = self.out("rev-parse", "--is-shallow-repository").strip() == "true"
        depth = ["--depth=1"] if shallow else []
        done = self._run(
            "fetch", "--quiet", "--no-tags", *depth, "origin", sha, timeout=FETCH_TIMEOUT
        )
        return done.returncode == 0 and self.has_commit(sha)


def _split(text: str) -> list[str]:
    return [p for p in text.split("\0") if p]
