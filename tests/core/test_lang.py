"""Every sentence the grader says to students exists in each course language, with the same
fields; the Russian text is Russian (only technical names stay in Latin letters)."""

from __future__ import annotations

import re
import string

import pytest

from grader.core.lang import Phrase, Said, phrases
from grader.core.messages import Apps, Bridged, Files, Refusals, Scores, Verdicts
from grader.pipeline.execute import FORBIDDEN_IN_KERNEL
from grader.report.chrome import OUTCOMES, STATUSES, Chrome

CATALOG: dict[str, Phrase] = {
    **{f"Refusals.{k}": v for k, v in phrases(Refusals).items()},
    **{f"Verdicts.{k}": v for k, v in phrases(Verdicts).items()},
    **{f"Scores.{k}": v for k, v in phrases(Scores).items()},
    **{f"Apps.{k}": v for k, v in phrases(Apps).items()},
    **{f"Files.{k}": v for k, v in phrases(Files).items()},
    **{f"Bridged.{k}": v for k, v in phrases(Bridged).items()},
    **{f"Chrome.{k}": v for k, v in phrases(Chrome).items()},
    **{f"outcome.{k}": v for k, v in OUTCOMES.items()},
    **{f"status.{k}": v for k, v in STATUSES.items()},
    "FORBIDDEN_IN_KERNEL": FORBIDDEN_IN_KERNEL,
}
TECHNICAL = {
    "Edit", "Clear", "all", "outputs", "File", "Download", "ipynb", "Jupyter", "Colab",
    "JSON", "nbformat", "zip", "seed", "os", "_exit", "manifest", "markdown", "predict", "Ctrl",
    "HTTP", "PORT", "py", "FIFO",
}  # fmt: skip
"""Names that stay as they are in a Russian sentence (menus, formats, flags)."""


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def latin_words(template: str) -> set[str]:
    text = re.sub(r"\{[^}]*\}", " ", template)  # fields are filled in, not said
    text = re.sub(r"`[^`]*`", " ", text)  # commands are code, the same in every language
    return set(re.findall(r"[A-Za-z_]{2,}", text))


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_both_languages_have_the_same_fields(name: str) -> None:
    phrase = CATALOG[name]
    assert fields(phrase.en) == fields(phrase.ru)
    assert phrase.en.strip() and phrase.ru.strip()


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_russian_text_is_russian(name: str) -> None:
    assert latin_words(CATALOG[name].ru) <= TECHNICAL


def test_said_later_in_either_language() -> None:
    said = Said.of(Verdicts.grader_failed, detail=Said.of(Verdicts.worker_died, code=9))
    assert said("en") == (
        "the grader failed on this submission: its worker process died twice (exit code 9); "
        "it is regraded on the next run"
    )
    assert "(код 9)" in said("ru") and "worker" not in said("ru")


def test_student_text_fills_a_field_and_is_never_a_template() -> None:
    said = Said.of(Refusals.not_json, name="{evil}.ipynb", error="{0} {__class__}")
    assert "{evil}.ipynb" in said("ru") and "{0} {__class__}" in said("ru")
