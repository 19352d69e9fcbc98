"""Public tests: the numbers in the report match the student's own model (component "facts").

* ``**Ответ q2a:**`` — the first whole number in the answer (digits may be grouped by spaces
  or commas: ``17 018``, ``17,018``) must equal the parameter count of ``model`` counted on the
  host (BatchNorm buffers left out).
* ``**Ответ q2b:**`` — the first of the model's layer names mentioned (``conv3``,
  ``features.6``; ``.weight`` / ``.bias`` may follow) must be a layer holding the most
  parameters (weight and bias together). Case and underscores are ignored, and so is the
  prefix a wrapper adds (``_orig_mod.`` of torch.compile, ``module.`` of DataParallel).
"""

from __future__ import annotations

import re

import pytest

NUMBER = re.compile(r"(?<![\d.])\d{1,3}(?:[ \u00a0\u202f,']\d{3})+(?![\d.,]\d)|(?<![\d.])\d+")
TOKEN = re.compile(r"\w+(?:\.\w+)*")


def first_integer(text: str) -> int | None:
    match = NUMBER.search(text)
    return None if match is None else int(re.sub(r"\D", "", match.group()))


def _norm(name: str) -> str:
    return name.replace("_", "").lower()


def answer(answers: dict[str, str], qid: str, what: str) -> str:
    """The text of answer ``qid``; fails, saying to write ``what``, when there is none."""
    text = answers.get(qid)
    assert text, f"{qid} is not answered: write **Ответ {qid}:** and {what}"
    return text


WRAPPERS = ("_orig_mod.", "module.")
"""Prefixes that torch.compile and (Distributed)DataParallel add to every name of the model
inside: ``_orig_mod.conv1`` is also ``conv1``."""


def claimed_layer(text: str, layers: list[str]) -> str | None:
    """The first layer of ``layers`` the text names, or None."""
    known = {_norm(name): name for name in layers}
    for name in layers:
        bare = name
        while bare.startswith(WRAPPERS):
            bare = bare.split(".", 1)[1]
        known.setdefault(_norm(bare), name)
    for token in TOKEN.findall(text):
        token = re.sub(r"\.(weight|bias)$", "", _norm(token))
        if token in known:
            return known[token]
    return None


@pytest.mark.points(
    0.5,
    component="facts",
    hint="**Ответ q2a:** — целое число параметров итоговой модели, "
    "sum(p.numel() for p in model.parameters()).",
)
def test_parameter_count_answer(answers: dict[str, str], layers: dict[str, int]) -> None:
    text = answer(answers, "q2a", "the number of parameters")
    claimed, counted = first_integer(text), sum(layers.values())
    assert claimed is not None, f"no whole number in the answer to q2a: {text[:80]!r}"
    assert claimed == counted, (
        f"q2a says {claimed}, but model has {counted} parameters: "
        "count them with sum(p.numel() for p in model.parameters()) after the final training"
    )


@pytest.mark.points(
    0.5,
    component="facts",
    hint="**Ответ q2b:** — имя слоя с наибольшим числом параметров, как в "
    "model.named_parameters() без .weight/.bias (например conv2 или features.3).",
)
def test_largest_layer_answer(answers: dict[str, str], layers: dict[str, int]) -> None:
    text = answer(answers, "q2b", "the name of the layer")
    claimed = claimed_layer(text, list(layers))
    assert claimed is not None, (
        f"the answer to q2b names none of the model's layers: {sorted(layers)[:30]}"
    )
    top = max(layers.values())
    assert layers[claimed] == top, (
        f"q2b names {claimed} ({layers[claimed]} parameters), but another layer holds more"
    )
