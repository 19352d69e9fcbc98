"""Similarity signals between students: code (normalised tokens) and written answers (words).

A signal for the instructor, never a verdict or a penalty: nothing here changes a grade.

Code: each notebook's code cells are tokenised; names become ``N``, numbers ``0`` and strings
``S`` (renaming variables changes nothing), comments and blank lines are dropped. Fingerprints
are hashes of every run of :data:`K` tokens, winnowed (Schleimer, Wilkerson, Aiken 2003 — the
method of MOSS). Tokens that belong to any run of the template are left out first, so the
scaffolding everyone starts from does not count, even where it meets the student's code; so are
fingerprints shared by most of the class (boilerplate such as a standard training loop).
Pairs are ranked by the Jaccard index of what is left.

Answers: sets of word triples (the prompt's own triples removed), compared by Jaccard index.
"""

from __future__ import annotations

import hashlib
import io
import keyword
import re
import tokenize
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import combinations

from nbformat import NotebookNode

from grader.static import to_python

K = 12
"""Tokens per fingerprinted run: shorter matches are coincidence more often than copying."""
WINDOW = 6
"""Winnowing window: any match of K + WINDOW - 1 tokens is certain to be found."""
COMMON_SHARE = 0.5
"""Fingerprints in more than this share of a class (of 4 or more) are boilerplate."""
MIN_SHARED = 4
"""Fewer shared fingerprints than this is not reported."""
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}


@dataclass(frozen=True)
class Fingerprints:
    """A notebook's selected fingerprints, each with the code lines it covers."""

    lines: dict[int, tuple[int, int]]

    @property
    def hashes(self) -> set[int]:
        return set(self.lines)


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    score: float
    """Jaccard index of the two fingerprint sets, 0..1."""
    shared: int
    lines_a: tuple[int, ...]
    """Lines (1-based, in :func:`notebook_code`) of ``a`` covered by shared fingerprints."""
    lines_b: tuple[int, ...]


def notebook_code(nb: NotebookNode) -> str:
    """The code cells as one text, magics blanked, cells separated by a blank line."""
    cells = [to_python(c.source) for c in nb.cells if c.cell_type == "code"]
    return "\n\n".join(c for c in cells if c.strip()) + "\n"


def normalised_tokens(code: str) -> list[tuple[str, int]]:
    """(token, line) with names, numbers and strings replaced; stops at a tokenising error."""
    out: list[tuple[str, int]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type in _SKIP or (tok.type == tokenize.NEWLINE and not tok.string.strip()):
                continue
            out.append((_normal(tok), tok.start[0]))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # what was read so far still counts
    return out


def _normal(tok: tokenize.TokenInfo) -> str:
    if tok.type == tokenize.NAME:
        return tok.string if keyword.iskeyword(tok.string) else "N"
    if tok.type == tokenize.NUMBER:
        return "0"
    if tok.type in (tokenize.STRING, getattr(tokenize, "FSTRING_START", -1)):
        return "S"
    return {tokenize.INDENT: "{", tokenize.DEDENT: "}", tokenize.NEWLINE: ";"}.get(
        tok.type, tok.string
    )


def kgrams(code: str) -> list[tuple[int, int, int]]:
    """(hash, first line, last line) of every run of K normalised tokens."""
    toks = normalised_tokens(code)
    return [
        (_hash(" ".join(t for t, _ in toks[i : i + K])), toks[i][1], toks[i + K - 1][1])
        for i in range(len(toks) - K + 1)
    ]


def fingerprints(code: str, *, base: frozenset[int] = frozenset()) -> Fingerprints:
    """Winnowed K-gram hashes (the minimum of every WINDOW of them), leaving out every token
    that belongs to a run of ``base`` (the template's K-gram hashes)."""
    grams = kgrams(code)
    covered = [False] * (len(grams) + K)
    for i, (h, _, _) in enumerate(grams):
        if h in base:
            covered[i : i + K] = [True] * K
    kept = [g for i, g in enumerate(grams) if not any(covered[i : i + K])]
    chosen: dict[int, tuple[int, int]] = {}
    for start in range(max(1, len(kept) - WINDOW + 1)):
        window = kept[start : start + WINDOW]
        if window:
            h, first, last = min(window, key=lambda g: g[0])
            chosen.setdefault(h, (first, last))
    return Fingerprints(chosen)


def _hash(text: str) -> int:
    """A stable 64-bit hash (``hash()`` of a str changes from run to run)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def code_pairs(codes: Mapping[str, str], *, template: str = "", top: int = 100) -> list[Pair]:
    """The most similar pairs of students' code, best first (template and boilerplate out)."""
    base = frozenset(h for h, _, _ in kgrams(template))
    prints = {s: fingerprints(c, base=base) for s, c in codes.items()}
    kept = _without_common({s: p.hashes for s, p in prints.items()})
    pairs = []
    for a, b in _candidates(kept):
        shared = kept[a] & kept[b]
        if len(shared) < MIN_SHARED:
            continue
        score = len(shared) / len(kept[a] | kept[b])
        pairs.append(
            Pair(
                a,
                b,
                round(score, 4),
                len(shared),
                _lines(prints[a], shared),
                _lines(prints[b], shared),
            )
        )
    pairs.sort(key=lambda p: (-p.score, -p.shared, p.a, p.b))
    return pairs[:top]


def _without_common(sets: dict[str, set[int]]) -> dict[str, set[int]]:
    if len(sets) < 4:
        return sets
    counts: dict[int, int] = defaultdict(int)
    for hashes in sets.values():
        for h in hashes:
            counts[h] += 1
    limit = COMMON_SHARE * len(sets)
    return {s: {h for h in hashes if counts[h] <= limit} for s, hashes in sets.items()}


def _candidates(sets: Mapping[str, set[int]]) -> Iterator[tuple[str, str]]:
    """Pairs sharing at least one fingerprint (an inverted index, not every pair)."""
    index: dict[int, list[str]] = defaultdict(list)
    for student in sorted(sets):
        for h in sets[student]:
            index[h].append(student)
    seen: set[tuple[str, str]] = set()
    for students in index.values():
        for pair in combinations(students, 2):
            if pair not in seen:
                seen.add(pair)
                yield pair


def _lines(prints: Fingerprints, shared: set[int]) -> tuple[int, ...]:
    lines: set[int] = set()
    for h in shared:
        first, last = prints.lines[h]
        lines.update(range(first, last + 1))
    return tuple(sorted(lines))


# ---------------------------------------------------------------- written answers
ANSWER_THRESHOLD = 0.5
"""Answers whose word-triple sets overlap at least this much are shown together."""
_WORD = re.compile(r"\w+")


def shingles(text: str) -> set[tuple[str, ...]]:
    words = [w.lower().replace("ё", "е") for w in _WORD.findall(text)]
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def near_duplicates(
    answers: Mapping[str, str], *, prompt: str = "", threshold: float = ANSWER_THRESHOLD
) -> dict[str, list[tuple[str, float]]]:
    """For each student, the others whose answer is nearly the same (score, best first)."""
    base = shingles(prompt)
    sets = {s: shingles(t) - base for s, t in answers.items()}
    sets = {s: v for s, v in sets.items() if len(v) >= 3}
    found: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for a, b in _candidates({s: {hash(x) for x in v} for s, v in sets.items()}):
        score = len(sets[a] & sets[b]) / len(sets[a] | sets[b])
        if score >= threshold:
            found[a].append((b, round(score, 4)))
            found[b].append((a, round(score, 4)))
    return {s: sorted(v, key=lambda x: (-x[1], x[0])) for s, v in sorted(found.items())}


def groups(similar: Mapping[str, Iterable[tuple[str, float]]]) -> dict[str, int]:
    """Students joined through near-duplicate answers, numbered 1, 2, ... (union-find)."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, others in similar.items():
        for b, _ in others:
            parent[root(a)] = root(b)
    roots = sorted({root(s) for s in parent})
    number = {r: i + 1 for i, r in enumerate(roots)}
    return {s: number[root(s)] for s in sorted(parent)}
