"""Hostile submissions (``student_submissions/_hostile``) against each sandbox backend.

Every sample is graded against ``tests/fixtures/assignments/hostile_target`` in one process,
one after the other, like a batch worker. For each one the suite proves that

1. the grader survives and returns the verdict its ``expected.toml`` declares (per backend);
2. the score is not inflated: at most what the honest code around the attack deserves
   (``max_points``; most samples also pin ``min_points`` to it);
3. the host is untouched: the canary file in the grader's working folder and the assignment's
   files are unchanged, no file marked ``HOSTILE_WAS_HERE`` (or a forged results/conftest file)
   appeared on the host, nothing is left in the grader's scratch folder, no process or
   container is left, nothing was unpickled, no host secret (the hidden tests' and labels'
   canaries, a variable of the grader's environment, the canary file's token) appears in the
   result, no notebook-reported ``Breach``, no connection reached the host's listener.

LocalSandbox is not a security boundary (docs/hostile.md): where it cannot contain an attack
the gap is listed in ``LOCAL_GAPS`` and that check is an expected failure; Docker has no gaps
listed unless one was found (then it is reported in docs/hostile.md, section "Gaps").
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import psutil
import pytest
from jupyter_core.paths import jupyter_runtime_dir

from grader.expectations import Expectation, load_expectation, mismatches
from grader.grading import Options, grade_submission
from grader.results import GradeResult
from grader.sandbox.base import Sandbox
from grader.spec import Assignment, load_assignment

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "student_submissions" / "_hostile"
TARGET = ROOT / "tests" / "fixtures" / "assignments" / "hostile_target"
SAMPLES = sorted(p.name for p in HOSTILE.iterdir() if (p / "expected.toml").is_file())

MARK = "HOSTILE_WAS_HERE"
OLD_PYC_CACHE = Path.home() / ".cache" / "dl-grader" / "pyc"
"""Where the grader once kept rewritten tests, shared by every run: pyc_trojan plants there."""
FORGED_NAMES = {"conftest.py", "results.json", "gradebook.csv"}
HIDDEN_CANARIES = ("HIDDEN-TEST-CANARY-3f9c1a", "HIDDEN-LABEL-CANARY-b72e04")
ENV_CANARY = "GRADER_HOST_CANARY"
LISTENER_PORT = 47361
"""The samples 'network' and friends try this port on 127.0.0.1 and on the default gateway."""
WATCHED = [Path(p) for p in ("/tmp", "/var/tmp", "/dev/shm", "/", "/etc", "/home", "/opt")]
"""Host folders where hostile files are looked for (and removed after a LocalSandbox run)."""

_NOT_A_BOUNDARY = "LocalSandbox is no security boundary (same user, filesystem, network, /proc)"
LOCAL_GAPS: dict[str, str] = {
    "network": f"{_NOT_A_BOUNDARY}: the kernel reaches 127.0.0.1 and DNS",
    "read_host_files": f"{_NOT_A_BOUNDARY}: the grader's process and cwd are readable",
    "find_hidden": f"{_NOT_A_BOUNDARY}: the hidden tests are on the same filesystem",
    "write_outside": f"{_NOT_A_BOUNDARY}: the kernel writes wherever the user may (the "
    "grader's cwd, and / and /etc as root)",
    "disk_fill": f"{_NOT_A_BOUNDARY}: RLIMIT_FSIZE caps one file, not the total",
    "forged_outputs": f"{_NOT_A_BOUNDARY}: files land in the host's /tmp (they change nothing)",
    "daemon_escape": "LocalSandbox kills the kernel's process group; a setsid()+double-fork "
    "daemon leaves it and outlives the grading",
}
DOCKER_GAPS: dict[str, str] = {}
"""None with the default tmpfs work folder; with ``DockerSandbox(workdir="bind")`` disk_fill
fills the host's disk (docs/hostile.md, Gaps)."""
GAPS = {"local": LOCAL_GAPS, "docker": DOCKER_GAPS}
ZOMBIE_BUG = (
    "LocalSandbox._kill_group SIGKILLs the kernel's group, then waitpid(pid, WNOHANG) before "
    "the kernel has died, and nobody waits for it afterwards: one zombie per submission "
    "(reported; fix: os.waitpid(pid, 0), or wait on the provisioner's Popen)"
)
BUGS = {"local": "", "docker": ""}
"""Known bugs of a backend that make leftover child processes an expected failure."""

MESSAGES = {
    "os_exit": "made the kernel die",
    "segfault": "made the kernel die",
    "killpg_self": "made the kernel die",
    "kill_parent": "made the kernel die",
    "infinite_loop": "time limit",
    "sleep_forever": "time limit",
    "self_stop": "time limit",
    "fork_bomb": "time limit",
    "session_key": "broke the kernel's connection",
    "iopub_close": "stopped answering",
}
"""What the verdict's message must say (the student reads it)."""

_ran_docker = False


# ---------------------------------------------------------------------------- evidence


@dataclass
class Run:
    """One sample graded under one backend, and what the host saw around it."""

    sample: str
    backend: str
    expected: Expectation
    result: GradeResult
    seconds: float
    result_file: Path
    escapes: list[str] = field(default_factory=list)
    children_left: list[str] = field(default_factory=list)
    """Child processes of the grader still there (zombies included) after the sample."""


@dataclass
class Host:
    """The host-side world of one backend's runs: folders, canaries, listener."""

    backend: str
    root: Path
    spec: Assignment
    cwd: Path
    """The grader's working folder during grading; holds the canary file."""
    scratch: Path
    """tempfile's folder during grading: work folders and socket folders are made here."""
    results: Path
    canary: Path
    secrets: tuple[str, ...]
    listener: _Listener | None
    runs: dict[str, Run] = field(default_factory=dict)

    def snapshot(self) -> dict[str, str]:
        """Every file of the grader's cwd and of the assignment copy, with its digest."""
        out = {}
        for base in (self.cwd, self.spec.root):
            for path in sorted(base.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        return out


class _Listener:
    """A TCP server on all interfaces that counts who connects (nobody should)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


# ---------------------------------------------------------------------------- the batch


def _sandbox(backend: str) -> Sandbox:
    if backend == "local":
        from grader.sandbox.local import LocalSandbox

        return LocalSandbox()
    from grader.sandbox.docker import DockerSandbox

    return DockerSandbox()


@contextlib.contextmanager
def _no_unpickling() -> Iterator[list[str]]:
    """pickle and numpy.load(allow_pickle=True) raise (and are recorded) on the host."""
    seen: list[str] = []

    def trap(name: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            seen.append(name)
            raise AssertionError(f"{name} called on the host")

        return refuse

    real_load = np.load

    def load(
        file: Any, mmap_mode: Any = None, allow_pickle: bool = False, *args: Any, **kwargs: Any
    ) -> Any:
        if allow_pickle:
            seen.append("numpy.load(allow_pickle=True)")
            raise AssertionError("numpy.load(allow_pickle=True) on the host")
        return real_load(file, mmap_mode, allow_pickle, *args, **kwargs)

    class Unpickler(pickle.Unpickler):  # a class: libraries subclass it at import time
        def load(self) -> Any:
            return trap("pickle.Unpickler.load")()

    with contextlib.ExitStack() as stack:
        for name in ("loads", "load"):
            stack.enter_context(mock.patch.object(pickle, name, trap(f"pickle.{name}")))
        stack.enter_context(mock.patch.object(pickle, "Unpickler", Unpickler))
        stack.enter_context(mock.patch.object(np, "load", load))
        yield seen


@contextlib.contextmanager
def _grading_context(host: Host) -> Iterator[None]:
    """cwd = the canary folder, tempfile's folder = scratch, a planted environment variable."""
    old_cwd, old_tmp = os.getcwd(), tempfile.tempdir
    old_env = os.environ.get(ENV_CANARY)
    os.chdir(host.cwd)
    tempfile.tempdir = str(host.scratch)
    os.environ[ENV_CANARY] = host.secrets[0]
    try:
        yield
    finally:
        os.chdir(old_cwd)
        tempfile.tempdir = old_tmp
        if old_env is None:
            os.environ.pop(ENV_CANARY, None)
        else:
            os.environ[ENV_CANARY] = old_env


def _watched_entries() -> set[Path]:
    folders = [*WATCHED, Path(jupyter_runtime_dir())]
    out: set[Path] = set()
    for folder in folders:
        with contextlib.suppress(OSError):
            out |= {p for p in folder.iterdir() if MARK in p.name or p.name in FORGED_NAMES}
    return out


def _sandbox_processes(scratch: Path) -> list[psutil.Process]:
    """Processes started for a kernel of this suite: their HOME or cwd is under ``scratch``."""
    found = []
    root = str(scratch)
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            home = proc.environ().get("HOME", "")
            if home.startswith(root) or proc.cwd().startswith(root):
                found.append(proc)
    return found


def _lingering(scratch: Path, grace: float = 3.0) -> list[psutil.Process]:
    """Sandbox processes still there after ``grace`` seconds (a SIGKILL takes a moment)."""
    deadline = time.monotonic() + grace
    while (found := _sandbox_processes(scratch)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def _containers() -> list[Any]:
    """Sandbox containers made by this process that still exist."""
    if not _ran_docker:
        return []
    from grader.sandbox.docker import LABEL, connect

    client = connect(timeout=10)
    try:
        return list(
            client.containers.list(
                all=True, filters={"label": [LABEL, f"dl-grader.pid={os.getpid()}"]}
            )
        )
    finally:
        client.close()


def grade_sample(host: Host, sample: str) -> Run:
    """Grade one sample as a batch worker would, and collect what the host saw around it."""
    if sample in host.runs:
        return host.runs[sample]
    expected = load_expectation(HOSTILE / sample).for_backend(host.backend)
    if expected.skip:
        pytest.skip(expected.skip)
    global _ran_docker
    _ran_docker |= host.backend == "docker"
    spec = expected.limits_for(host.spec)
    before_files, before_watched = host.snapshot(), _watched_entries()
    before_children = {c.pid for c in psutil.Process().children(recursive=True)}
    if host.listener:
        host.listener.connections = 0
    started = time.monotonic()
    with _grading_context(host), _no_unpickling() as unpickled:
        result = grade_submission(
            spec, HOSTILE / sample, options=Options(sandbox=_sandbox(host.backend))
        )
    seconds = time.monotonic() - started
    file = host.results / f"{sample}.json"
    result.write(file)
    run = Run(sample, host.backend, expected, result, seconds, file)
    run.escapes = _escapes(host, run, before_files, before_watched, unpickled)
    run.children_left = _new_children(before_children)
    host.runs[sample] = run
    return run


def _escapes(
    host: Host,
    run: Run,
    before_files: dict[str, str],
    before_watched: set[Path],
    unpickled: list[str],
) -> list[str]:
    """What the host can see of an attack that got out; cleans it up as it goes."""
    out = [
        f"the notebook reports a breach: {e.evalue[:300]}"
        for e in run.result.cell_errors
        if e.ename == "Breach"
    ]
    after = host.snapshot()
    changed = sorted(
        k for k in before_files.keys() | after.keys() if before_files.get(k) != after.get(k)
    )
    out += [f"host file added, changed or removed: {p}" for p in changed]
    for path in sorted(_watched_entries() - before_watched):
        out.append(f"file left on the host: {path}")
        with contextlib.suppress(OSError):
            path.unlink()
    text = run.result.model_dump_json()
    out += [f"host secret in the result: {s[:12]}..." for s in host.secrets if s in text]
    out += [f"the host unpickled: {name}" for name in unpickled]
    if host.listener and host.listener.connections:
        out.append(f"{host.listener.connections} connection(s) reached the host's listener")
    leftovers = _lingering(host.scratch)
    out += [f"process left running: {p.pid} {_cmd(p)}" for p in leftovers]
    for proc in leftovers:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(leftovers, timeout=5)
    left = sorted(p.name for p in host.scratch.iterdir())
    if left:
        out.append(f"left in the grader's scratch folder: {left}")
    out += [f"container left: {c.name}" for c in _containers()]
    _restore(host, before_files)
    return out


def _new_children(before: set[int], grace: float = 3.0) -> list[str]:
    """Child processes of the grader that a sample left (zombies included), then reaped."""
    deadline = time.monotonic() + grace
    while True:
        new = [c for c in psutil.Process().children(recursive=True) if c.pid not in before]
        if not new or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    out = []
    for child in new:
        with contextlib.suppress(psutil.Error):
            out.append(f"child process of the grader left: {child.pid} ({child.status()})")
        with contextlib.suppress(psutil.Error):
            child.kill()
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(child.pid, 0)
    return out


def _cmd(proc: psutil.Process) -> str:
    with contextlib.suppress(psutil.Error):
        return " ".join(proc.cmdline())[:100]
    return "?"


def _restore(host: Host, before: dict[str, str]) -> None:
    """Put the assignment copy and the canary folder back as they were (local runs), and drop
    what pyc_trojan planted in the grader's old shared pyc cache for this course copy."""
    shutil.rmtree(OLD_PYC_CACHE / host.root.relative_to("/"), ignore_errors=True)
    shutil.rmtree(host.spec.root)
    shutil.copytree(TARGET, host.spec.root)
    for path in [*host.cwd.iterdir(), *host.scratch.iterdir()]:
        if path != host.canary:
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    host.canary.write_text(host.secrets[1], encoding="utf-8")
    assert host.snapshot() == before


# ---------------------------------------------------------------------------- fixtures


def _docker_ready() -> str:
    """Empty when the engine and the runtime image are there, else why not."""
    try:
        from grader.image import runtime_image_tag
        from grader.sandbox.docker import connect

        client = connect(timeout=10)
        client.images.get(runtime_image_tag())
        client.close()
    except Exception as exc:
        return f"Docker engine or runtime image unavailable: {str(exc).splitlines()[0]}"
    return ""


def _make_host(backend: str, root: Path, listener: _Listener | None) -> Host:
    course = root / "course"
    shutil.copytree(TARGET, course / "hostile_target")
    cwd, scratch, results = root / "grader-cwd", root / "scratch", root / "results"
    for folder in (cwd, scratch, results):
        folder.mkdir()
    scratch.chmod(0o755)
    tokens = (f"ENV-{secrets.token_hex(12)}", f"CANARY-{secrets.token_hex(12)}")
    canary = cwd / "canary.txt"
    canary.write_text(tokens[1], encoding="utf-8")
    return Host(
        backend=backend,
        root=root,
        spec=load_assignment(course / "hostile_target"),
        cwd=cwd,
        scratch=scratch,
        results=results,
        canary=canary,
        secrets=(*tokens, *HIDDEN_CANARIES),
        listener=listener,
    )


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Host]]:
    """``hosts("docker")``: the host-side world of a backend, made on first use."""
    made: dict[str, Host] = {}
    listener = None
    with contextlib.suppress(OSError):
        listener = _Listener(LISTENER_PORT)

    def get(backend: str) -> Host:
        if backend not in made:
            if backend == "docker":
                why = _docker_ready()
                if why:
                    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
                        pytest.fail(f"{why} (CI must run the docker tests)")
                    pytest.skip(why)
            root = tmp_path_factory.mktemp(f"hostile-{backend}")
            made[backend] = _make_host(backend, root, listener)
        return made[backend]

    yield get
    if listener:
        listener.close()


BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("docker", id="docker", marks=pytest.mark.docker),
]


# ---------------------------------------------------------------------------- tests


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_worker_survives_every_sample(hosts: Callable[[str], Host], backend: str) -> None:
    """All samples, one after the other in this process: each gets a result file and nothing
    (no child process, no container) is left afterwards."""
    host = hosts(backend)
    graded = []
    for sample in SAMPLES:
        expected = load_expectation(HOSTILE / sample).for_backend(backend)
        if expected.skip:
            continue
        graded.append(grade_sample(host, sample))
    for run in graded:
        assert run.result_file.is_file()
        assert GradeResult.read(run.result_file) == run.result
    assert _containers() == []
    assert _sandbox_processes(host.scratch) == []
    assert list(host.scratch.iterdir()) == []
    # (zombies were reaped per sample; multiprocessing's forkserver and resource tracker, left
    # by earlier batch tests in this process, are not kernels)
    assert [c for c in psutil.Process().children(recursive=True) if not _mp_helper(c)] == []
    left = [f"{run.sample}: {c}" for run in graded for c in run.children_left]
    if left and BUGS[backend]:
        pytest.xfail(f"{BUGS[backend]}: {len(left)} left, e.g. {left[:3]}")
    assert left == []


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sample", SAMPLES)
def test_verdict(hosts: Callable[[str], Host], sample: str, backend: str) -> None:
    """The declared verdict, and no more points than the honest code deserves."""
    run = grade_sample(hosts(backend), sample)
    problems = mismatches(run.result, run.expected)
    assert not problems, f"{sample} under {backend}: {problems}; {run.result.message}"
    assert run.result.points <= run.expected.max_points + 1e-6
    assert MESSAGES.get(sample, "") in run.result.message


def test_memory_bomb_under_rlimits_is_a_cell_error(hosts: Callable[[str], Host]) -> None:
    """IPython cannot even format the MemoryError: the cell error comes from the reply."""
    run = grade_sample(hosts("local"), "memory_bomb")
    assert [e.ename for e in run.result.cell_errors] == ["MemoryError"]


def test_codec_refuses_a_flood_of_items_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """10 million tiny items would cost json.loads ~15 s and ~1.6 GB on the host."""
    import json

    from grader.bridge import codec
    from grader.errors import PayloadRejected

    parsed: list[str] = []
    monkeypatch.setattr(json, "loads", parsed.append)
    with pytest.raises(PayloadRejected, match="elements"):
        codec.parse('{"ok": {"__map__": [' + "[0,0]," * 3_000_000 + "[0,0]]}}")
    assert parsed == []


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sample", SAMPLES)
def test_host_untouched(hosts: Callable[[str], Host], sample: str, backend: str) -> None:
    """Nothing of the attack reached the host (a documented gap of the backend is an xfail)."""
    run = grade_sample(hosts(backend), sample)
    gap = GAPS[backend].get(sample)
    if run.escapes and gap:
        pytest.xfail(f"{gap}: {run.escapes[:3]}")
    assert run.escapes == []
    if run.children_left and BUGS[backend]:
        pytest.xfail(f"{BUGS[backend]}: {run.children_left}")
    assert run.children_left == []


def test_samples_match_their_generator() -> None:
    """The notebooks are generated (``make_hostile.py``); nobody edits them by hand."""
    import subprocess
    import sys

    check = [sys.executable, str(HOSTILE / "make_hostile.py"), "--check"]
    done = subprocess.run(check, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def _mp_helper(proc: psutil.Process) -> bool:
    try:
        return "multiprocessing" in " ".join(proc.cmdline())
    except psutil.Error:
        return False


# ---------------------------------------------------------------------------- round 2 (#11)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_flood_of_comment_openings_is_parsed_in_linear_time(
    hosts: Callable[[str], Host], backend: str
) -> None:
    """240 KB of '<!--' cost the quadratic stripper 70 s before any sandbox ran; now ms."""
    run = grade_sample(hosts(backend), "answer_comment_flood")
    assert run.result.timings.intake_s < 10  # 1000x margin over the linear parser
    assert [a.id for a in run.result.answers] == ["q1"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_disguised_import_is_blocked(hosts: Callable[[str], Host], backend: str) -> None:
    """Each route (a claimed file name, a claimed module, a written module, the package's own
    file through a loader with sys.meta_path emptied) is refused in its own cell; under Docker
    a subprocess cannot import it either."""
    run = grade_sample(hosts(backend), "forbidden_disguised")
    blocked = [e.index for e in run.result.cell_errors if e.ename == "ForbiddenImportError"]
    assert blocked == [1, 2, 3, 4], run.result.cell_errors
    [child] = [e.evalue for e in run.result.cell_errors if "subprocess" in e.evalue]
    if backend == "local":  # no audit hook in a child process, and no mount namespace
        pytest.xfail(f"{_NOT_A_BOUNDARY}: {child}")
    assert child.endswith("blocked"), child  # Docker mounts a stub over the module


def _victim(folder: Path) -> Path:
    """An honest notebook with a wrong square(): 1 point of 3, whatever ran before it."""
    import sys

    import nbformat

    sys.path.insert(0, str(HOSTILE))
    from make_hostile import HONEST_COUNTER, WRONG_SQUARE, Sample, notebook

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "victim.ipynb"
    sample = Sample("victim", "honest, square wrong", (WRONG_SQUARE, HONEST_COUNTER), "")
    path.write_text(nbformat.writes(notebook(sample)), encoding="utf-8")
    return path


def test_a_trojan_cannot_change_another_grading(hosts: Callable[[str], Host]) -> None:
    """pyc_trojan (run as a student's local `grade check --hidden` would) plants assertion-free
    pycs of the course's tests; the next grading, in this process or a fresh one, is not
    changed by them: the grader reads no pyc it did not make in this process."""
    import subprocess
    import sys

    host = hosts("local")
    victim = _victim(host.root / "victim")
    with _grading_context(host):
        trojan = grade_submission(
            host.spec, HOSTILE / "pyc_trojan", options=Options(sandbox=_sandbox("local"))
        )
        planted = [e.evalue for e in trojan.cell_errors if "planted" in e.evalue]
        assert planted and not planted[0].startswith("planted 0"), trojan.cell_errors
        here = grade_submission(host.spec, victim, options=Options(sandbox=_sandbox("local")))
        code = (
            "import sys; from pathlib import Path\n"
            "from grader.grading import Options, grade_submission\n"
            "from grader.sandbox.local import LocalSandbox\n"
            "from grader.spec import load_assignment\n"
            "spec = load_assignment(Path(sys.argv[1]))\n"
            "options = Options(sandbox=LocalSandbox())\n"
            "r = grade_submission(spec, Path(sys.argv[2]), options=options)\n"
            "print(r.points)\n"
        )
        fresh = subprocess.run(
            [sys.executable, "-c", code, str(host.spec.root), str(victim)],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
    try:
        assert here.points == 1.0, here.tests
        assert float(fresh.stdout.strip().splitlines()[-1]) == 1.0, fresh.stdout
    finally:
        shutil.rmtree(OLD_PYC_CACHE / host.root.relative_to("/"), ignore_errors=True)
        for cache in host.spec.root.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_student_text_reaches_no_screen_or_page_as_markup_or_control_codes(
    hosts: Callable[[str], Host], backend: str
) -> None:
    """terminal_escape's ESC c, screen clears, rich markup and bidi override are shown as
    text: `grade check`'s rendering neither crashes on '[/]' nor clears the screen, and the
    feedback files carry no raw control character."""
    import io

    from rich.console import Console

    from grader.batch.store import BatchInfo, Stored
    from grader.report.console import render
    from grader.report.feedback import feedback_html, feedback_markdown

    run = grade_sample(hosts(backend), "terminal_escape")
    screen = io.StringIO()
    render(run.result, Console(file=screen, force_terminal=True, width=120))
    shown = screen.getvalue()
    for sequence in ("\x1bc", "\x1b[2J", "\x1b[H", "\u202e"):
        assert sequence not in shown
    assert "[/]" in shown and "\\x1bc" in shown  # shown, escaped, not obeyed
    stored = Stored("s", run.result, None, run.result_file.parent)
    info = BatchInfo.of(hosts(backend).spec)
    for page in (feedback_markdown(stored, info), feedback_html(stored, info)):
        assert "\x1b" not in page and "\u202e" not in page
