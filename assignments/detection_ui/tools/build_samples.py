"""Build the sample submissions of detection_ui (deterministic).

    python assignments/detection_ui/tools/build_samples.py

Each sample is an app folder under student_submissions/detection_ui/<outcome>/: the
reference app (reference_solutions/detection_ui) with one typical mistake patched in, or an
app written by hand in its sample folder (``correct_fastapi_html``: another framework, another
style) and samples patched from it; plus the given modules (template/detector.py,
template/tiny_clip.py) and expected.toml. Edit the patches, the expectations and the
hand-written files (``own``), not the generated ones (a test checks they are up to date).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ASSIGNMENT = HERE.parent
REPO = ASSIGNMENT.parents[1]
REFERENCE = REPO / "reference_solutions" / "detection_ui"
SAMPLES = REPO / "student_submissions" / "detection_ui"
GIVEN = ("detector.py", "tiny_clip.py")
"""Modules of the template every app keeps as they are."""


@dataclass(frozen=True)
class Sample:
    expected: str
    """The body of expected.toml."""
    patches: tuple[tuple[str, str], ...] = ()
    """(old, new) replacements in the base's app.py; each old text must occur."""
    base: str = "reference"
    """What the sample is made from: the reference, a sample written by hand, or "" when the
    sample itself is written by hand."""
    own: tuple[str, ...] = ()
    """Files written by hand in the sample's folder (kept as they are)."""
    drop: tuple[str, ...] = ()
    """Files of the base left out."""
    notebook: bool = False
    """Submit the app as a notebook (app.ipynb, one cell per section of app.py)."""


DETECT_LOOP = """        if score >= min_confidence and count[label] < max_per_class:"""
PORT_LINE = """    uvicorn.run(app, host="0.0.0.0", port=int(os.environ.get("PORT", "7860")))"""

SAMPLES_BY_OUTCOME = {
    "correct_gradio": Sample(
        expected='''description = """Gradio UI mounted at /ui (the root redirects there), per-class
filtering with collections.Counter, classes unchecked at first: another style, all right.
No Dockerfile, so no Docker bonus."""
status = "graded"
min_points = 95
max_points = 95
''',
        patches=(
            (
                "    kept, count = [], dict.fromkeys(classes, 0)\n"
                "    for label, score, box in detector.detect_all(image, classes):\n"
                + DETECT_LOOP
                + "\n            count[label] += 1\n"
                '            kept.append({"label": label, "confidence": score, "box": list(box)})\n'
                "    return kept",
                "    counts = Counter()\n"
                "    candidates = detector.detect_all(image, classes)\n"
                "    candidates.sort(key=lambda c: -c[1])\n"
                "    kept = []\n"
                "    for label, score, (x1, y1, x2, y2) in candidates:\n"
                "        if score < min_confidence or counts[label] >= max_per_class:\n"
                "            continue\n"
                "        counts[label] += 1\n"
                "        box = [int(x1), int(y1), int(x2), int(y2)]\n"
                '        kept.append({"label": label, "confidence": float(score), "box": box})\n'
                "    return kept",
            ),
            ("import io\n", "import io\nfrom collections import Counter\n"),
            ('value=["face"], ', ""),
            (
                'app = gr.mount_gradio_app(api, demo, path="/")',
                '@api.get("/")\ndef root():\n    return RedirectResponse("/ui/")\n\n\n'
                'app = gr.mount_gradio_app(api, demo, path="/ui")',
            ),
            (
                "from fastapi.responses import JSONResponse",
                "from fastapi.responses import JSONResponse, RedirectResponse",
            ),
        ),
        drop=("Dockerfile",),
    ),
    "correct_fastapi_html": Sample(
        expected='''description = """FastAPI with a hand-written HTML page (check boxes built from
/api/classes, a range input, a canvas with the boxes, a table), OpenCV decoding, errors as
HTTPException ({"detail": ...}). All right; no licence plates offered in the UI's defaults
does not matter. No Dockerfile."""
status = "graded"
min_points = 95
max_points = 95
''',
        base="",
        own=("app.py", "static/index.html"),
    ),
    "correct_notebook": Sample(
        expected='''description = """The reference's code as a Colab notebook (pip installs and
magics in it, app.ipynb beside the given modules): its code cells become app.py."""
status = "graded"
min_points = 95
max_points = 95
''',
        drop=("Dockerfile",),
        notebook=True,
    ),
    "ignores_max_per_class": Sample(
        expected='''description = """Returns every detection above the threshold whatever
max_per_class says: the k-per-class test fails (6 points), the rest holds."""
status = "graded"
min_points = 94
max_points = 94

[components]
detection = { min = 29, max = 29 }
''',
        patches=((DETECT_LOOP, "        if score >= min_confidence:"),),
    ),
    "ignores_threshold": Sample(
        expected='''description = """Ignores min_confidence: the threshold test fails (scores below
it come back); on blank pictures the course's detector has no candidates at all, so that test
holds, as do ground truth, classes and k."""
status = "graded"
min_points = 94
max_points = 94

[components]
detection = { min = 29, max = 29 }
''',
        patches=((DETECT_LOOP, "        if count[label] < max_per_class:"),),
    ),
    "boxes_xywh": Sample(
        expected='''description = """Boxes as [x, y, width, height] instead of the contract's
[x1, y1, x2, y2]: boxes, mirror and ground-truth tests fail (the licence-plate bonus too), and
its own UI, which draws the boxes as [x1, y1, x2, y2], fails to show a result; classes, k,
threshold and the same answer twice hold."""
status = "graded"
min_points = 70
max_points = 78

[components]
detection = { min = 20, max = 24 }
''',
        patches=(
            (
                '            kept.append({"label": label, "confidence": score, "box": list(box)})',
                "            x1, y1, x2, y2 = box\n"
                '            kept.append({"label": label, "confidence": score,'
                ' "box": [x1, y1, x2 - x1, y2 - y1]})',
            ),
        ),
    ),
    "crash_on_upload": Sample(
        expected='''description = """Passes the uploaded bytes to Image.open (which wants a file):
every API upload fails with HTTP 500. Only the class list and the UI (which gets arrays from
Gradio) work."""
status = "graded"
min_points = 15
max_points = 25

[components]
detection = { min = 0, max = 0 }
zero_shot = { min = 0, max = 0 }
robustness = { min = 0, max = 0 }
''',
        patches=(
            (
                "        image = Image.open(io.BytesIO(data))\n"
                "    except (UnidentifiedImageError, OSError):",
                "        image = Image.open(data)\n    except UnidentifiedImageError:",
            ),
        ),
    ),
    "never_starts": Sample(
        expected='''description = """Listens on a fixed port 8080 instead of $PORT: the grader
never gets an answer; the verdict says to use $PORT."""
status = "timeout"
max_points = 0
cell_timeout = 40
''',
        patches=((PORT_LINE, '    uvicorn.run(app, host="0.0.0.0", port=8080)'),),
    ),
    "downloads_weights_at_start": Sample(
        expected='''description = """Downloads YOLO weights when it starts (as YOLO("yolov8n.pt")
does): the sandbox has no network, the download fails and the app exits; the verdict names the
attempt (weights must be in the submission or the image)."""
status = "network_access"
max_points = 0
cell_timeout = 60
''',
        patches=(
            (
                "MAX_PIXELS = 25_000_000\n",
                "MAX_PIXELS = 25_000_000\n"
                "WEIGHTS = 'https://github.com/ultralytics/assets/releases/download/"
                "v8.2.0/yolov8n.pt'\n"
                "if not os.path.exists('yolov8n.pt'):\n"
                "    import urllib.request\n\n"
                "    urllib.request.urlretrieve(WEIGHTS, 'yolov8n.pt')\n",
            ),
        ),
    ),
    "ui_without_api": Sample(
        expected='''description = """A Gradio UI started with demo.launch() and no /api routes: the
person's UI works (all UI points), the HTTP contract does not (404)."""
status = "graded"
min_points = 15
max_points = 15

[components]
ui = { min = 15, max = 15 }
''',
        patches=(
            (
                'app = gr.mount_gradio_app(api, demo, path="/")\n\n'
                'if __name__ == "__main__":\n' + PORT_LINE,
                'if __name__ == "__main__":\n'
                '    demo.launch(server_name="0.0.0.0", server_port=int(os.environ["PORT"]))',
            ),
        ),
    ),
    "attacks_the_browser": Sample(
        expected='''description = """A correct API behind a hostile page: it tries to read
file:///etc/passwd (fetch, iframe, navigation), to reach other ports of the grading machine
and the internet, and posts what it got back to its own server. The sandboxed browser gives it
nothing (tests/assignments/test_detection_ui.py checks); the page has no working UI."""
status = "graded"
min_points = 80
max_points = 85

[components]
ui = { min = 0, max = 5 }
''',
        base="correct_fastapi_html",
        own=("static/index.html",),
        patches=(
            (
                '"""Detector + CLIP behind FastAPI, with a plain HTML page (static/index.html).'
                ' python app.py"""',
                '"""A correct API behind a hostile page (static/index.html); the page reports its'
                '\nloot to /loot, which prints it to the app\'s log. python app.py"""',
            ),
            (
                '@app.get("/api/classes")',
                '@app.post("/loot")\nasync def loot(request: Request):\n'
                '    print("LOOT", (await request.body())[:2000].decode(errors="replace"),'
                " flush=True)\n"
                '    return {"ok": True}\n\n\n@app.get("/api/classes")',
            ),
        ),
    ),
}


def build(out: Path = SAMPLES) -> list[Path]:
    """Write every sample under ``out``; returns their folders."""
    folders = []
    for name, sample in SAMPLES_BY_OUTCOME.items():
        folder = out / name
        own = {rel: (SAMPLES / name / rel).read_bytes() for rel in sample.own}
        shutil.rmtree(folder, ignore_errors=True)
        if sample.base:
            base = REFERENCE if sample.base == "reference" else SAMPLES / sample.base
            skip = shutil.ignore_patterns("__pycache__", "expected.toml", *sample.drop)
            shutil.copytree(base, folder, ignore=skip)
            source = (base / "app.py").read_text(encoding="utf-8")
            (folder / "app.py").write_text(_patched(source, sample.patches, name))
        if sample.notebook:
            _as_notebook(folder / "app.py", folder / "app.ipynb")
        for rel, data in own.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
        for given in GIVEN:
            shutil.copyfile(ASSIGNMENT / "template" / given, folder / given)
        (folder / "expected.toml").write_text(sample.expected, encoding="utf-8")
        folders.append(folder)
    return folders


def _as_notebook(app: Path, notebook: Path) -> None:
    """app.py → a Colab-style notebook: an install cell, then one cell per section."""
    from grader.course.authoring import write_notebook

    sections = app.read_text(encoding="utf-8").split("\n# ----")
    cells = [("markdown", "# Детектор и zero-shot классификация"), ("code", INSTALL)]
    for index, text in enumerate(sections):
        cells.append(("code", (text if index == 0 else "# ----" + text).strip()))
    write_notebook(notebook, "detection_ui", cells)
    app.unlink()


INSTALL = "!pip install -q gradio opencv-python-headless\n%matplotlib inline"


def _patched(text: str, patches: tuple[tuple[str, str], ...], name: str) -> str:
    for old, new in patches:
        if old not in text:
            raise SystemExit(f"{name}: the reference no longer contains {old[:60]!r}")
        text = text.replace(old, new)
    return text


if __name__ == "__main__":
    for path in build():
        print(path.relative_to(REPO))
