"""Similarity signals: renaming does not hide copied code, shared template code and class-wide
boilerplate do not count, near-duplicate answers are grouped."""

from __future__ import annotations

import nbformat

from grader.similarity import (
    code_pairs,
    fingerprints,
    groups,
    near_duplicates,
    normalised_tokens,
    notebook_code,
)

TEMPLATE = """
import numpy as np

def load(path):
    data = np.load(path)
    return data["X"], data["y"]

X, y = load("data/train.npz")
"""

ORIGINAL = """
class LinearGD:
    def __init__(self, lr=0.1, steps=100):
        self.lr = lr
        self.steps = steps

    def fit(self, X, y):
        n, d = X.shape
        self.w = np.zeros(d)
        self.b = 0.0
        for _ in range(self.steps):
            err = X @ self.w + self.b - y
            self.w -= self.lr * 2 * X.T @ err / n
            self.b -= self.lr * 2 * err.mean()
        return self

    def predict(self, X):
        return X @ self.w + self.b
"""

RENAMED = """
# my own work!!
class MyRegressor:
    def __init__(self, learning_rate=0.05, n_iter=500):
        self.learning_rate = learning_rate
        self.n_iter = n_iter

    def fit(self, features, target):
        rows, cols = features.shape
        self.weights = np.zeros(cols)
        self.bias = 0.0
        for _ in range(self.n_iter):
            residual = features @ self.weights + self.bias - target
            self.weights -= self.learning_rate * 2 * features.T @ residual / rows
            self.bias -= self.learning_rate * 2 * residual.mean()
        return self

    def predict(self, features):
        return features @ self.weights + self.bias
"""

DIFFERENT = """
def train(X, y, epochs=10):
    w = np.linalg.lstsq(np.c_[X, np.ones(len(X))], y, rcond=None)[0]
    history = []
    while len(history) < epochs:
        history.append(float(((X @ w[:-1] + w[-1] - y) ** 2).mean()))
    return w, history

weights, history = train(X, y)
print(history[-1])
"""


def test_names_numbers_and_comments_do_not_change_the_tokens() -> None:
    a = [t for t, _ in normalised_tokens("x = 1  # one\ny = x + 2.5\n")]
    b = [t for t, _ in normalised_tokens("alpha = 10\n\nbeta = alpha + 7\n")]
    assert a == b


def test_renamed_copy_ranks_first_and_unrelated_code_is_not_reported() -> None:
    codes = {
        "anna": TEMPLATE + ORIGINAL,
        "boris": TEMPLATE + RENAMED,
        "vera": TEMPLATE + DIFFERENT,
    }
    pairs = code_pairs(codes, template=TEMPLATE)
    assert pairs, "the renamed copy was not found"
    top = pairs[0]
    assert {top.a, top.b} == {"anna", "boris"}
    assert top.score > 0.6
    assert all("vera" not in (p.a, p.b) or p.score < 0.2 for p in pairs)
    # the lines shown side by side are the copied method bodies, not the template's loader
    assert min(top.lines_a) > TEMPLATE.count("\n")


def test_template_code_alone_is_never_similar() -> None:
    codes = {"anna": TEMPLATE + "print(1)\n", "boris": TEMPLATE + "print(2)\n"}
    assert code_pairs(codes, template=TEMPLATE) == []
    assert code_pairs(codes, template="") != [], "without the template the scaffolding counts"


def test_code_most_of_the_class_shares_is_boilerplate() -> None:
    codes = {f"s{i}": ORIGINAL + f"\nprint({i})\n" for i in range(5)}
    assert code_pairs(codes) == []


def test_broken_code_still_fingerprints_what_reads() -> None:
    prints = fingerprints(ORIGINAL + "\ndef broken(:\n    '''unterminated\n")
    assert len(prints.hashes) > 5


def test_notebook_code_blanks_magics_and_skips_markdown() -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("**Ответ q1:** text"),
            nbformat.v4.new_code_cell("!pip install x\nx = 1"),
        ]
    )
    assert notebook_code(nb) == "pass\nx = 1\n"


def test_near_duplicate_answers_are_grouped_and_the_prompt_does_not_count() -> None:
    prompt = "Как вы обнаруживали переобучение и как с ним боролись?"
    copied = (
        "Переобучение видно по росту ошибки на валидации при падении ошибки на обучении, "
        "боролись ранней остановкой и аугментацией"
    )
    answers = {
        "anna": copied,
        "boris": copied.replace("ранней остановкой", "ранней  остановкой,") + " данных",
        "vera": prompt + " Смотрели на кривые обучения и добавили dropout между слоями.",
        "gleb": prompt + " Уменьшили число параметров и включили weight decay в оптимизатор.",
    }
    similar = near_duplicates(answers, prompt=prompt)
    assert [s for s, _ in similar["anna"]] == ["boris"]
    assert "vera" not in similar and "gleb" not in similar, "copying the prompt is not copying"
    numbered = groups(similar)
    assert numbered == {"anna": 1, "boris": 1}
