"""Gradescope's autograder results: one ``results.json`` per student, review applied.

Gradescope takes results only from an autograder run: its ``run_autograder`` writes
``/autograder/results/results.json`` (gradescope-autograders.readthedocs.io, "Autograder
Specifications"). To publish grades computed here, upload ``autograder.zip`` as a programming
assignment's autograder: for each submission it copies the results of the student named in
``/autograder/submission_metadata.json`` (by email, from the roster, or by the batch's student
name) and says so when there are none.
"""

from __future__ import annotations

import json
from pathlib import Path

from grader.export.base import Batch
from grader.release import zip_bytes
from grader.report.gradescope import gradescope_results

FOLDER = "gradescope"
RUN_AUTOGRADER = '''#!/usr/bin/env python3
"""Copy the precomputed results of this submission's student (written by `grade export`)."""
import json, pathlib
meta = json.loads(pathlib.Path("/autograder/submission_metadata.json").read_text())
source = pathlib.Path("/autograder/source/results")
out = pathlib.Path("/autograder/results/results.json")
for user in meta.get("users", []):
    for key in (user.get("email", ""), user.get("name", "")):
        found = source / f"{key}.json"
        if key and "/" not in key and found.is_file():
            out.write_text(found.read_text(encoding="utf-8"), encoding="utf-8")
            raise SystemExit(0)
out.write_text(json.dumps({"score": 0, "output": "No grade was exported for you yet: "
                           "ask your teacher.", "visibility": "visible"}))
'''
SETUP = "#!/usr/bin/env bash\n# nothing to install: run_autograder copies precomputed results\n"


def write_gradescope(batch: Batch, dest: Path) -> list[Path]:
    """``gradescope/<student>/results.json`` and ``gradescope/autograder.zip``."""
    folder = dest / FOLDER
    files: dict[str, bytes] = {
        "run_autograder": RUN_AUTOGRADER.encode(),
        "setup.sh": SETUP.encode(),
    }
    written = []
    for stored in batch.results():
        data = gradescope_results(stored.result, batch.info)
        text = (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()
        path = folder / stored.student / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text)
        written.append(path)
        key = batch.ids(stored.student).get("email") or stored.student
        files[f"results/{key}.json"] = text
    archive = folder / "autograder.zip"
    archive.write_bytes(zip_bytes(files, executable=frozenset({"run_autograder", "setup.sh"})))
    return [*written, archive]
