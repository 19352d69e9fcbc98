"""The course's language: every sentence the grader says to students exists in each one.

A :class:`Phrase` holds one sentence in every language of :data:`Language`, with ``{named}``
fields; what a student wrote (file names, exception text) only ever fills a field, so it is
never read as a template. The spec names the course's language (``language = "ru"``); stored
results carry it, so re-rendered reports speak it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

Language = Literal["ru", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)


@dataclass(frozen=True)
class Phrase:
    """One sentence (or label) in every language; ``phrase(lang, name=...)`` fills it in."""

    en: str
    ru: str

    def __call__(self, lang: Language, /, **fields: object) -> str:
        return self.text(lang).format(**fields)

    def text(self, lang: Language) -> str:
        return self.ru if lang == "ru" else self.en


@dataclass(frozen=True)
class Said:
    """A phrase with its fields, kept until the language is known (a stage's finding)."""

    phrase: Phrase
    fields: Mapping[str, object] = field(default_factory=dict)

    def __call__(self, lang: Language) -> str:
        """The sentence in ``lang``; fields that are themselves ``Said`` are said in it too."""
        fields = {k: v(lang) if isinstance(v, Said) else v for k, v in self.fields.items()}
        return self.phrase(lang, **fields)

    @classmethod
    def of(cls, phrase: Phrase, **fields: object) -> Said:
        return cls(phrase, fields)


def phrases(catalog: type) -> dict[str, Phrase]:
    """Every phrase a catalog class declares, by name (for tests and docs)."""
    return {name: value for name, value in vars(catalog).items() if isinstance(value, Phrase)}
