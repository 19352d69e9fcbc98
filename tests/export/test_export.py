"""`grade export`: reviewed grades in what Moodle and Gradescope import, feedback beside."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from grader.cli import app
from grader.export.publish import Target, export_grades
from grader.review.board import open_board

ROSTER = "student,email,idnumber\nanna,anna@uni.example,1001\nboris,=cmd|' /C calc'!A0,1002\n"


def review_anna(out: Path) -> None:
    board = open_board(out, similarity=False)
    sha = board.item("anna", "q1")["answer_sha256"]
    board.decide("anna", "q1", points=0.25, comment="<b>кратко</b>, но верно", answer_sha256=sha)


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_moodle_csv_has_identifiers_grade_and_feedback(batch_out: Path, tmp_path: Path) -> None:
    review_anna(batch_out)
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    done = export_grades(
        batch_out, to=Target.MOODLE, dest=tmp_path / "m", roster=tmp_path / "roster.csv"
    )
    path = tmp_path / "m" / "moodle_grades.csv"
    assert path in done.files
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf"), "Moodle reads UTF-8 without BOM"
    table = {r["Student"]: r for r in rows(path)}
    assert list(rows(path)[0]) == [
        "Student",
        "Email address",
        "ID number",
        "Tiny <b>HW</b> (4)",
        "Feedback",
    ]
    anna = table["anna"]
    assert (anna["Email address"], anna["ID number"], anna["Tiny <b>HW</b> (4)"]) == (
        "anna@uni.example",
        "1001",
        "2.25",
    )
    assert "q1: &lt;b&gt;кратко&lt;/b&gt;, но верно" in anna["Feedback"]
    assert table["boris"]["Email address"].startswith("'="), "no formula reaches a spreadsheet"
    assert table["gleb"]["Tiny <b>HW</b> (4)"] == "2", "a timed-out notebook's answer waits"
    assert "review pending" in table["gleb"]["Feedback"]
    assert any("not in the roster" in w for w in done.warnings)
    assert (tmp_path / "m" / "feedback" / "anna.html").is_file()
    assert "Teacher's comment: &lt;b&gt;кратко" in (
        tmp_path / "m" / "feedback" / "anna.html"
    ).read_text(encoding="utf-8")


def test_gradescope_results_carry_the_review(batch_out: Path, tmp_path: Path) -> None:
    review_anna(batch_out)
    export_grades(batch_out, to=Target.GRADESCOPE, dest=tmp_path / "g")
    data = json.loads((tmp_path / "g" / "gradescope" / "anna" / "results.json").read_text())
    assert data["score"] == 2.25
    (answer,) = [t for t in data["tests"] if t["name"] == "Written answer q1"]
    assert (answer["score"], answer["output"]) == (0.25, "reviewed: <b>кратко</b>, но верно")
    with zipfile.ZipFile(tmp_path / "g" / "gradescope" / "autograder.zip") as archive:
        names = archive.namelist()
        mode = archive.getinfo("run_autograder").external_attr >> 16
    assert {"run_autograder", "setup.sh", "results/anna.json"} <= set(names)
    assert mode & 0o111, "run_autograder must be executable"


def test_gradescope_autograder_copies_the_students_results(batch_out: Path, tmp_path: Path) -> None:
    export_grades(batch_out, to=Target.GRADESCOPE, dest=tmp_path / "g")
    root = tmp_path / "autograder"
    with zipfile.ZipFile(tmp_path / "g" / "gradescope" / "autograder.zip") as archive:
        archive.extractall(root / "source")
    (root / "results").mkdir()
    script = (root / "source" / "run_autograder").read_text().replace("/autograder", str(root))

    def run(user: dict[str, str]) -> dict[str, object]:
        (root / "submission_metadata.json").write_text(json.dumps({"users": [user]}))
        subprocess.run([sys.executable, "-c", script], check=True, env=dict(os.environ))
        return json.loads((root / "results" / "results.json").read_text())

    assert run({"email": "x@y", "name": "anna"})["score"] == 3.0
    missing = run({"email": "../../etc/passwd", "name": "nobody"})
    assert missing["score"] == 0 and "No grade" in str(missing["output"])


def test_csv_export_and_the_command(batch_out: Path) -> None:
    review_anna(batch_out)
    done = CliRunner().invoke(app, ["export", str(batch_out), "--to", "csv"])
    assert done.exit_code == 0, done.output
    table = {
        r["student"]: r
        for r in csv.DictReader(
            io.StringIO(
                (batch_out / "export-csv" / "gradebook.csv").read_text(encoding="utf-8-sig")
            )
        )
    }
    assert table["anna"]["total"] == "2.25" and table["anna"]["review_needed"] == "no"
    assert table["boris"]["review_needed"] == "yes"
    bad = CliRunner().invoke(app, ["export", str(batch_out), "--to", "blackboard"])
    assert bad.exit_code == 2
