"""JUnit XML for a class: one ``testsuite`` per student, one ``testcase`` per test.

A submission that could not be graded gets one erroring ``submission`` testcase with its
verdict; written answers are testcases too (failing when missing).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from grader.core.results import Outcome, Status
from grader.core.store import BatchInfo, Stored, write_report

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """Text XML 1.0 can hold (control characters dropped)."""
    return _NOT_XML.sub("", text)


class JUnit:
    """Accumulates suites student by student; :meth:`xml` renders the whole document."""

    def __init__(self, info: BatchInfo) -> None:
        self.root = ET.Element("testsuites", name=clean(f"grade batch {info.assignment}"))
        self.totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def add(self, stored: Stored) -> None:
        r = stored.result
        suite = ET.SubElement(
            self.root, "testsuite", name=clean(stored.student), time=f"{r.timings.total_s:.3f}"
        )
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if r.status not in (Status.GRADED, Status.MISSING_NAMES) or not r.tests:
            case = self._case(suite, stored.student, "submission", counts)
            if r.status not in (Status.GRADED, Status.MISSING_NAMES):
                self._problem(case, "error", r.status.value, r.message, counts)
        for t in r.tests:
            module = t.id.split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")
            name = t.id.rpartition("::")[2] + (" (hidden)" if t.hidden else "")
            case = self._case(suite, f"{stored.student}.{module}", name, counts)
            if t.outcome is Outcome.SKIPPED:
                ET.SubElement(case, "skipped", message=clean(t.message[:500]))
                counts["skipped"] += 1
            elif t.outcome is Outcome.ERROR:
                self._problem(case, "error", "error", t.message, counts)
            elif t.outcome in (Outcome.FAILED, Outcome.PARTIAL):
                label = f"{t.points:g}/{t.max_points:g} points"
                self._problem(case, "failure", label, t.message or label, counts)
        for a in r.answers:
            case = self._case(suite, f"{stored.student}.answers", f"answer {a.id}", counts)
            if not a.answered:
                self._problem(case, "failure", "missing", a.message or "not answered", counts)
        for key, value in counts.items():
            suite.set(key, str(value))
            self.totals[key] += value

    def _case(
        self, suite: ET.Element, classname: str, name: str, counts: dict[str, int]
    ) -> ET.Element:
        counts["tests"] += 1
        return ET.SubElement(
            suite, "testcase", classname=clean(classname), name=clean(name), time="0"
        )

    def _problem(
        self, case: ET.Element, kind: str, label: str, text: str, counts: dict[str, int]
    ) -> None:
        node = ET.SubElement(
            case,
            kind,
            message=clean(text.splitlines()[0][:500] if text else label),
            type=clean(label),
        )
        node.text = clean(text)
        counts["failures" if kind == "failure" else "errors"] += 1

    def xml(self) -> str:
        for key, value in self.totals.items():
            self.root.set(key, str(value))
        ET.indent(self.root)
        return ET.tostring(self.root, encoding="unicode", xml_declaration=True) + "\n"


def junit_xml(results: Iterable[Stored], info: BatchInfo) -> str:
    junit = JUnit(info)
    for stored in results:
        junit.add(stored)
    return junit.xml()


def write_junit(junit: JUnit, path: Path) -> None:
    write_report(path, junit.xml())
