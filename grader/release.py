"""The student kit of an assignment (``grade release ID --out DIR``).

What students get, and nothing else::

    <id>/README.md           the assignment's README, plus how to check (locally and in Colab)
    <id>/<notebook>          the template, under the file name students submit
    <id>/assignment.toml     the spec without hidden parts (rubrics); data.public = "data"
    <id>/tests/...           tests/conftest.py files and the public tests (never tests/hidden)
    <id>/data/...            the public data, where the template reads it (``data/...``)
    <id>/kit.json            how many hidden checks run at grading, and their points by part

``grade check`` finds the kit's ``assignment.toml`` above the notebook or the current folder,
so it runs there after ``pip install`` of the grader, with no course repository and no Docker.
The kit is written as a folder and as ``<id>.zip``; both are byte-identical for the same inputs
(sorted entries, fixed times and modes), so a rebuilt kit is recognisably the same kit.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from grader.errors import GraderError
from grader.results import GradeResult
from grader.spec import SPEC_FILE, Assignment
from grader.testing.run import hidden_tests

KIT_FILE = "kit.json"
KIT_SCHEMA = 1
KIT_DATA = "data"
TEMPLATE = "template.ipynb"
DEFAULT_INSTALL = "dl-grader"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_SKIP_NAMES = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints", ".DS_Store"}


@dataclass(frozen=True)
class Kit:
    folder: Path
    archive: Path
    files: list[str]
    """Paths inside the kit folder, sorted."""
    hidden_tests: int
    hidden_points: dict[str, float]


def build_kit(spec: Assignment, *, out: Path, install: str = DEFAULT_INSTALL, url: str = "") -> Kit:
    """Write ``out/<id>/`` and ``out/<id>.zip`` from the assignment ``spec``."""
    files, pending = kit_files(spec, install=install, url=url)
    folder, archive = out / spec.id, out / f"{spec.id}.zip"
    _clear_previous(folder)
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    archive.write_bytes(zip_bytes(files, prefix=spec.id))
    return Kit(folder, archive, sorted(files), pending[0], pending[1])


def kit_files(
    spec: Assignment, *, install: str = DEFAULT_INSTALL, url: str = ""
) -> tuple[dict[str, bytes], tuple[int, dict[str, float]]]:
    """Every file of the kit by its path inside the kit, and the hidden checks' summary."""
    template = spec.path(TEMPLATE)
    if not template.is_file():
        raise GraderError(
            f"assignment '{spec.id}' has no {TEMPLATE}",
            hint=f"write {template} (or run `grade assign {spec.id}`) first",
        )
    records = hidden_tests(spec)
    points: dict[str, float] = {}
    for rec in records:
        points[rec.component] = round(points.get(rec.component, 0.0) + rec.points, 4)
    files: dict[str, bytes] = {
        "README.md": readme(spec, install=install, url=url).encode(),
        spec.notebook: template.read_bytes(),
        SPEC_FILE: public_spec_toml(spec).encode(),
        KIT_FILE: _kit_json(spec, len(records), points).encode(),
    }
    files.update(_tree(spec.path("tests"), "tests", skip=spec.path(spec.tests.hidden)))
    files.update(_tree(spec.path(spec.data.public), KIT_DATA, skip=None))
    return dict(sorted(files.items())), (len(records), points)


def _tree(root: Path, prefix: str, *, skip: Path | None) -> Iterator[tuple[str, bytes]]:
    """Files under ``root`` (no hidden folder, caches, dotfiles or links), kit-relative."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if skip is not None and _inside(path, skip):
            continue
        if any(p in _SKIP_NAMES or p.startswith(".") for p in rel.parts):
            continue
        if path.is_symlink() or not path.is_file() or path.suffix == ".pyc":
            continue
        yield f"{prefix}/{rel.as_posix()}", path.read_bytes()


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _clear_previous(folder: Path) -> None:
    """Replace a kit written before; refuse to overwrite a folder that is not one."""
    if not folder.exists():
        return
    if not (folder / KIT_FILE).is_file():
        raise GraderError(
            f"{folder} exists and is not a kit written by `grade release`",
            hint="choose another --out folder, or remove that one",
        )
    shutil.rmtree(folder)


def zip_bytes(
    files: dict[str, bytes], *, prefix: str = "", executable: frozenset[str] = frozenset()
) -> bytes:
    """A zip of ``files`` (under ``prefix/``) that is the same bytes for the same files."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{prefix}/{name}" if prefix else name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = (0o100755 if name in executable else 0o100644) << 16
            archive.writestr(info, files[name], compresslevel=9)
    return buf.getvalue()


# ---------------------------------------------------------------- kit.json
def _kit_json(spec: Assignment, count: int, points: dict[str, float]) -> str:
    data = {
        "kit": KIT_SCHEMA,
        "assignment": spec.id,
        "version": spec.version,
        "hidden_tests": count,
        "hidden_points": dict(sorted(points.items())),
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def released_pending(spec: Assignment) -> tuple[int, dict[str, float]] | None:
    """The hidden checks a kit's ``kit.json`` announces; None outside a kit."""
    try:
        data = json.loads(spec.path(KIT_FILE).read_text(encoding="utf-8"))
        count = int(data["hidden_tests"])
        points = {str(k): float(v) for k, v in dict(data["hidden_points"]).items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return count, points


def with_released_pending(spec: Assignment, result: GradeResult) -> GradeResult:
    """In a kit, say how many hidden checks (worth how much) run only at grading."""
    pending = None if result.hidden_included else released_pending(spec)
    if pending is None or result.hidden_not_run or spec.path(spec.tests.hidden).is_dir():
        return result
    count, points = pending
    return result.model_copy(update={"hidden_not_run": count, "hidden_points_pending": points})


# ---------------------------------------------------------------- public spec
def public_spec(spec: Assignment) -> dict[str, Any]:
    """The spec as students may read it: no rubrics, public data where the template reads it."""
    data = spec.model_dump(exclude={"root"}, exclude_none=True)
    for question in data["questions"]:
        question.pop("rubric", None)
    data["data"] = {"public": KIT_DATA, "hidden": data["data"]["hidden"]}
    return data


def public_spec_toml(spec: Assignment) -> str:
    head = f"# {spec.id}: the spec of the student kit, written by `grade release`.\n"
    return head + toml_text(public_spec(spec))


def toml_text(data: dict[str, Any], path: tuple[str, ...] = ()) -> str:
    """TOML for the spec's shapes: scalars, lists of scalars, tables and arrays of tables."""
    lines: list[str] = []
    tables: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict) or (value and isinstance(value, list) and _all_dicts(value)):
            tables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for key, value in tables:
        header = ".".join(_key(k) for k in (*path, key))
        if isinstance(value, dict):
            out += f"\n[{header}]\n" + toml_text(value, (*path, key))
        else:
            for item in value:
                out += f"\n[[{header}]]\n" + toml_text(item, (*path, key))
    return out


def _all_dicts(items: list[Any]) -> bool:
    return all(isinstance(i, dict) for i in items)


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)
    raise TypeError(f"no TOML form for {type(value).__name__}")


# ---------------------------------------------------------------- README
def readme(spec: Assignment, *, install: str, url: str) -> str:
    """The assignment's README with a section on checking, locally and in Colab."""
    own = spec.path("README.md")
    text = own.read_text(encoding="utf-8").rstrip() + "\n\n" if own.is_file() else ""
    return text + check_section(spec, install=install, url=url)


def check_section(spec: Assignment, *, install: str, url: str) -> str:
    get_kit = (
        f"!wget -q -O {spec.id}.zip {url} && unzip -qo {spec.id}.zip"
        if url
        else f"# загрузите {spec.id}.zip в /content (панель Files) / upload {spec.id}.zip\n"
        f"!unzip -qo {spec.id}.zip"
    )
    return f"""## Проверка перед сдачей / Checking before you submit

Локально (Python 3.11+), в папке этого набора / locally, in this kit's folder:

```bash
pip install {install}
grade check {spec.notebook}
```

`grade check` запускает ноутбук целиком и публичные тесты; скрытые тесты и скрытые данные
есть только при оценивании, поэтому показанные баллы — ещё не оценка. Docker не нужен.
/ `grade check` runs the whole notebook and the public tests; hidden tests run only at
grading, so the points shown are not your grade yet. No Docker needed.

В Colab — в **отдельном** ноутбуке (не в том, который сдаёте), одной ячейкой /
in Colab, in a **separate** notebook (not the one you submit), one cell:

```python
!pip install -q {install}
{get_kit}
from google.colab import drive
drive.mount("/content/drive")
!cd {spec.id} && grade check "/content/drive/MyDrive/Colab Notebooks/{spec.notebook}"
```
"""
