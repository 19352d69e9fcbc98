"""``histogram.png``: the distribution of totals (matplotlib, Agg backend, no display)."""

from __future__ import annotations

from pathlib import Path

from grader.core.errors import GraderError
from grader.core.lang import Language
from grader.report.chrome import Chrome as C
from grader.report.summary import ClassStats


def write_histogram(stats: ClassStats, path: Path, *, title: str, lang: Language = "en") -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise GraderError(
            "matplotlib is not installed, so histogram.png cannot be drawn",
            hint="pip install matplotlib",
        ) from exc
    bins = stats.distribution()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    try:
        width = bins[0][1] - bins[0][0]
        ax.bar(
            [low for low, _, _ in bins],
            [c for _, _, c in bins],
            width=width * 0.95,
            align="edge",
            color="#3b82f6",
        )
        ax.set_xlim(0, bins[-1][1])
        ax.set_xlabel(C.points_of(lang, top=stats.max_points))
        ax.set_ylabel(C.submissions(lang))
        ax.set_title(f"{title} · {C.submissions(lang)}: {stats.count}")
        fig.tight_layout()
        tmp = path.with_name(f".{path.name}.tmp")
        fig.savefig(tmp, format="png")
        tmp.replace(path)
    finally:
        plt.close(fig)
