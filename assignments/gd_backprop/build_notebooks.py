"""Build the notebooks of gd_backprop from the cell texts below (deterministic, no outputs).

    python assignments/gd_backprop/build_notebooks.py

Writes assignments/gd_backprop/template.ipynb, reference_solutions/gd_backprop.ipynb and the
sample submissions under student_submissions/gd_backprop/*/submission.ipynb (their
expected.toml files are written by hand; the classes of most samples are in variants.py). Edit
the texts here, not the notebooks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import variants as v

from grader.course.authoring import make_notebook, write_notebook

ID = "gd_backprop"
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SAMPLES = REPO / "student_submissions" / ID

# ------------------------------------------------------------------ template cells
INTRO = """\
# Домашнее задание: градиентный спуск и backpropagation

**Баллы:** часть 1 (градиентный спуск для линейной регрессии) — 2 балла, часть 2
(backpropagation для MLP) — 2 балла, ответы на вопросы — 1 балл. Всего 5.

**Правила**
* Только `numpy`. Импортировать `torch`, `sklearn`, `autograd`, `jax`, `tensorflow`, `keras`
  нельзя: такой ноутбук получает 0 баллов.
* Не переименовывайте классы, параметры конструкторов и методы `train` / `predict`: тесты
  обращаются к ним по именам. Остальные имена, хранение весов, инициализация, функция активации —
  на ваш выбор. Полная спецификация — в `README.md` задания.
* Данные лежат в папке `data/` рядом с ноутбуком (в Colab загрузите туда
  `diabetes_train.npz`).
* Ответы на вопросы пишите в ячейках с `**Ответ q1:**` / `**Ответ q2:**` сразу после маркера.
* Перед сдачей выполните *Restart & Run all*: ноутбук должен выполняться сверху вниз без ошибок
  быстрее чем за 5 минут. Проверить себя можно командой `grade check gd_backprop.ipynb`.
"""

IMPORTS = """\
import numpy as np

data = np.load("data/diabetes_train.npz")
X, y = data["X"], data["y"]
print("X:", X.shape, " y:", y.shape)
print("признаки:", data["feature_names"].tolist())
"""

PART1_MD = """\
## Часть 1. Градиентный спуск для линейной регрессии (2 балла)

Модель: $\\hat y_i = x_i^\\top w + b$. Функция потерь — среднеквадратичная ошибка

$$L(w, b) = \\frac{1}{n}\\sum_{i=1}^{n} (x_i^\\top w + b - y_i)^2$$

(можно взять и $\\tfrac12$·MSE). Выведите её градиент по $w$ и по $b$ и реализуйте класс
`LinearRegressionGD`:

* `__init__(self, learning_rate=0.01, max_iter=1000)` — сохраняет параметры;
* `train(X, y)` — начальные веса (нули или малые случайные), затем ровно `max_iter` шагов
  полного (по всей выборке) градиентного спуска
  $w \\leftarrow w - \\eta\\,\\nabla_w L$, $b \\leftarrow b - \\eta\\,\\partial L/\\partial b$,
  $\\eta$ = `learning_rate`;
* `predict(X)` — предсказания, массив формы `(n,)`.

Как хранить веса, какие добавить методы и атрибуты (например, историю ошибки) — решайте сами.
"""

PART1_TRY_MD = """\
### Проверка части 1

Сравните результат с точным решением МНК (`np.linalg.lstsq`) и посмотрите, как шаг
`learning_rate` влияет на сходимость (это понадобится для вопроса 1).
"""

PART1_TRY = """\
A = np.column_stack([X, np.ones(len(X))])
w_best = np.linalg.lstsq(A, y, rcond=None)[0]
print(f"MSE МНК: {np.mean((A @ w_best - y) ** 2):.2f}")

for lr in [0.001, 0.01, 0.1, 0.2, 0.3]:
    gd = LinearRegressionGD(learning_rate=lr, max_iter=200)
    gd.train(X, y)
    with np.errstate(all="ignore"):
        mse = np.mean((np.ravel(gd.predict(X)) - y) ** 2)
    print(f"learning_rate={lr:<6} MSE после 200 шагов: {mse:.4g}")
"""

PART2_MD = """\
## Часть 2. Backpropagation для MLP (2 балла)

Сеть: полносвязные скрытые слои с нелинейной функцией активации (sigmoid, tanh или ReLU — на ваш
выбор) и линейный выход из одного нейрона:

$$a_0 = X,\\quad a_k = f(a_{k-1} W_k + b_k)\\ (k < K),\\quad \\hat y = a_{K-1} W_K + b_K .$$

Функция потерь та же, MSE (или $\\tfrac12$·MSE). Обучение — полный градиентный спуск, как в
части 1, градиенты — обратным распространением ошибки.

Реализуйте класс `MLPRegressor`:

* `__init__(self, hidden_layer_sizes=(100,), learning_rate=0.001, max_iter=10)`;
* `train(X, y)` — инициализация весов, затем ровно `max_iter` шагов градиентного спуска по всем
  весам одновременно;
* `predict(X)` — массив формы `(n,)`.

Веса храните как массивы `numpy` в атрибутах объекта (имена и вид — любые: списки, словари,
объекты-слои); случайную инициализацию делайте через `np.random` или `np.random.default_rng`.
Тесты найдут веса по формам слоёв и сравнят ваш шаг обучения с конечными разностями вашей же
функции потерь. Градиенты, посчитанные конечными разностями вместо backprop, баллов за
backpropagation не получают.
"""

GRADCHECK_MD = """\
### Проверка градиентов конечными разностями

Функция ниже меняет каждый вес на $\\pm\\varepsilon$, считает
$\\frac{L(w+\\varepsilon) - L(w-\\varepsilon)}{2\\varepsilon}$ и сравнивает с вашими градиентами.
Относительная ошибка должна быть меньше `1e-4` (обычно получается `1e-8` и меньше). Её менять
не нужно; вызовите её для своей сети (пример в комментарии).
"""

GRADCHECK_CODE = """\
def check_gradients(loss, params, grads, eps=1e-6):
    \"\"\"Печатает относительную ошибку ваших градиентов по сравнению с конечными разностями.

    loss   — функция без аргументов: значение функции потерь при текущих значениях params;
    params — список ваших массивов весов (меняются на месте и восстанавливаются);
    grads  — ваши градиенты тех же форм, посчитанные в этих весах.
    \"\"\"
    for i, (p, g) in enumerate(zip(params, grads)):
        numeric = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            plus = loss()
            p[idx] = old - eps
            minus = loss()
            p[idx] = old
            numeric[idx] = (plus - minus) / (2 * eps)
        norm = max(np.linalg.norm(g), np.linalg.norm(numeric), 1e-12)
        err = np.linalg.norm(np.asarray(g) - numeric) / norm
        verdict = "OK" if err < 1e-4 else "ОШИБКА"
        print(f"массив {i} {p.shape}: относительная ошибка {err:.1e}", verdict)


# Пример (подставьте свои имена):
# net = MLPRegressor(hidden_layer_sizes=(5, 3), learning_rate=0.01, max_iter=3)
# net.train(X[:20], y_scaled[:20])
# loss = lambda: np.mean((net.predict(X[:20]) - y_scaled[:20]) ** 2)
# check_gradients(loss, [W1, b1, W2, b2, W3, b3], [dW1, db1, dW2, db2, dW3, db3])
"""

PART2_TRY = """\
y_mean, y_std = y.mean(), y.std()
y_scaled = (y - y_mean) / y_std  # сети проще учиться на стандартизованной цели

X_tr, y_tr, X_val, y_val = X[:280], y_scaled[:280], X[280:], y[280:]
for steps in [1, 300]:
    mlp = MLPRegressor(hidden_layer_sizes=(16,), learning_rate=0.05, max_iter=steps)
    mlp.train(X_tr, y_tr)
    mse = np.mean((np.ravel(mlp.predict(X_tr)) - y_tr) ** 2)
    pred = np.ravel(mlp.predict(X_val)) * y_std + y_mean
    r2 = 1 - np.sum((pred - y_val) ** 2) / np.sum((y_val - y_val.mean()) ** 2)
    print(f"{steps} шагов: MSE на обучении {mse:.3f}, R² на валидации {r2:.3f}")
"""

QUESTIONS_MD = """\
## Вопросы (1 балл)

Ответьте своими словами, 2–5 предложений, опираясь на то, что вы наблюдали. Пишите ответ сразу
после маркера `**Ответ qN:**` в той же ячейке (двойной щелчок по ячейке, чтобы её изменить).
"""

Q1_PROMPT = "Как выбор learning rate влияет на сходимость GD? Что вы наблюдали?"
Q2_PROMPT = "Почему градиент проверяют конечными разностями, и какой шаг eps вы бы выбрали?"


def answer_cell(qid: str, prompt: str, text: str) -> str:
    return f"### Вопрос {qid}\n{prompt}\n\n**Ответ {qid}:** {text}\n"


PLACEHOLDER = "ваш ответ здесь"

# ------------------------------------------------------------------ reference solution
REF_PART1 = """\
class LinearRegressionGD:
    \"\"\"Линейная регрессия, обученная полным градиентным спуском по MSE.\"\"\"

    def __init__(self, learning_rate=0.01, max_iter=1000):
        self.learning_rate = learning_rate
        self.max_iter = max_iter

    def _gradient(self, X, y):
        \"\"\"(grad_coef, grad_intercept) — градиент MSE в текущих весах.\"\"\"
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        residual = X @ self.coef_ + self.intercept_ - y          # (n,)
        grad_coef = 2.0 / len(y) * (X.T @ residual)               # dL/dw = 2/n X^T r
        grad_intercept = 2.0 * float(residual.mean())             # dL/db = 2/n sum(r)
        return grad_coef, grad_intercept

    def train(self, X, y):
        \"\"\"Начальные веса, затем ровно max_iter шагов полного градиентного спуска.\"\"\"
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        self.coef_ = np.zeros(X.shape[1])
        self.intercept_ = 0.0
        self.loss_history_ = []
        for _ in range(self.max_iter):
            self.loss_history_.append(float(np.mean((self.predict(X) - y) ** 2)))
            grad_coef, grad_intercept = self._gradient(X, y)
            self.coef_ = self.coef_ - self.learning_rate * grad_coef
            self.intercept_ = self.intercept_ - self.learning_rate * grad_intercept
        return self

    def predict(self, X):
        \"\"\"Предсказания формы (n,).\"\"\"
        return np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_
"""

REF_PART2 = """\
class MLPRegressor:
    \"\"\"Многослойный перцептрон для регрессии: нелинейные скрытые слои, линейный выход, MSE.\"\"\"

    def __init__(self, hidden_layer_sizes=(100,), learning_rate=0.001, max_iter=10,
                 random_state=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.random_state = random_state

    def _initialize(self, n_features):
        rng = np.random.default_rng(self.random_state)
        sizes = [n_features, *self.hidden_layer_sizes, 1]
        self.coefs_, self.intercepts_ = [], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            self.coefs_.append(rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out)))
            self.intercepts_.append(np.zeros(fan_out))

    def _forward(self, X):
        \"\"\"Активации всех слоёв: [X, a_1, ..., a_{K-1}, y_hat (n, 1)].\"\"\"
        activations = [X]
        last = len(self.coefs_) - 1
        for k, (W, b) in enumerate(zip(self.coefs_, self.intercepts_)):
            z = activations[-1] @ W + b
            activations.append(z if k == last else np.maximum(z, 0.0))
        return activations

    def _gradients(self, X, y):
        \"\"\"(grad_coefs, grad_intercepts) — градиенты MSE в текущих весах.\"\"\"
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).reshape(-1, 1)
        activations = self._forward(X)
        delta = 2.0 * (activations[-1] - y) / len(y)      # dL/dz последнего слоя, (n, 1)
        grad_coefs = [None] * len(self.coefs_)
        grad_intercepts = [None] * len(self.coefs_)
        for k in range(len(self.coefs_) - 1, -1, -1):
            grad_coefs[k] = activations[k].T @ delta        # dL/dW_k
            grad_intercepts[k] = delta.sum(axis=0)           # dL/db_k
            if k > 0:
                # назад через W_k и ReLU: производная ReLU = 1 там, где a_k > 0
                delta = (delta @ self.coefs_[k].T) * (activations[k] > 0)
        return grad_coefs, grad_intercepts

    def train(self, X, y):
        \"\"\"Инициализация весов, затем max_iter шагов полного GD, градиенты — backprop.\"\"\"
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        self._initialize(X.shape[1])
        self.loss_history_ = []
        for _ in range(self.max_iter):
            self.loss_history_.append(float(np.mean((self.predict(X) - y) ** 2)))
            grad_coefs, grad_intercepts = self._gradients(X, y)
            for k in range(len(self.coefs_)):
                self.coefs_[k] = self.coefs_[k] - self.learning_rate * grad_coefs[k]
                self.intercepts_[k] = self.intercepts_[k] - self.learning_rate * grad_intercepts[k]
        return self

    def predict(self, X):
        \"\"\"Предсказания формы (n,).\"\"\"
        return self._forward(np.asarray(X, dtype=np.float64))[-1].reshape(-1)
"""

# ------------------------------------------------------------------ template classes
STUB = "        # ваш код здесь\n        raise NotImplementedError\n"


def template_of(solution: str) -> str:
    """The template's cell for a reference class: the class and its docstring, ``__init__`` as
    it is, every other public method's signature and docstring with a stub for a body; private
    helpers left out. Students start from the same contract the reference fulfils."""
    lines = solution.splitlines(keepends=True)
    (cls,) = ast.parse(solution).body
    assert isinstance(cls, ast.ClassDef)
    doc, *methods = cls.body
    parts = ["".join(lines[: doc.end_lineno])]
    for method in methods:
        assert isinstance(method, ast.FunctionDef)
        if method.name == "__init__":
            parts.append("".join(lines[method.lineno - 1 : method.end_lineno]))
        elif not method.name.startswith("_"):
            parts.append("".join(lines[method.lineno - 1 : method.body[0].end_lineno]) + STUB)
    return "\n".join(parts)


PART1_CODE = template_of(REF_PART1)
PART2_CODE = template_of(REF_PART2)

REF_Q1 = (
    "Шаг задаёт скорость и саму возможность сходимости. При learning_rate = 0.001 ошибка за "
    "200 шагов падает медленно и остаётся далеко от оптимума МНК; при 0.01 лучше, при 0.1–0.2 "
    "GD почти достигает решения МНК. При 0.3 ошибка растёт экспоненциально: шаг больше "
    "2/λ_max, где λ_max ≈ 8.2 — наибольшее собственное число гессиана 2/n·XᵀX, и спуск "
    "расходится. Кроме того, из-за коррелированных признаков (s1–s5) маленькие собственные "
    "числа делают сходимость по некоторым направлениям медленной даже при хорошем шаге."
)
REF_Q2 = (
    "Аналитический градиент легко вывести или запрограммировать с ошибкой (потерять множитель, "
    "производную ReLU, транспонирование), а обучение при этом может всё равно как-то идти, и "
    "ошибку не видно. Центральная разность (L(w+ε) − L(w−ε)) / 2ε считается только через "
    "прямой проход и имеет погрешность O(ε²), поэтому это независимая проверка. Для float64 я "
    "бы взял ε ≈ 1e-6…1e-5: при большем ε растёт ошибка аппроксимации и влияние изломов ReLU, "
    "при меньшем — ошибка округления порядка 1e-16/ε."
)


# ------------------------------------------------------------------ variants for samples
CORRECT_PART1 = """\
class LinearRegressionGD:
    # older spelling of the API: fit / n_iter (accepted aliases)
    def __init__(self, learning_rate=0.01, n_iter=1000):
        self.learning_rate = learning_rate
        self.n_iter = n_iter

    @staticmethod
    def _with_ones(X):
        X = np.asarray(X, dtype=float)
        return np.hstack([X, np.ones((X.shape[0], 1))])

    def loss_gradient(self, X, y):
        A = self._with_ones(X)
        theta = np.append(self.coef_, self.intercept_)
        g = 2 * A.T @ (A @ theta - np.ravel(y)) / A.shape[0]
        return g[:-1], g[-1]

    def fit(self, X, y):
        y = np.ravel(y)
        self.coef_ = np.zeros(np.shape(X)[1])
        self.intercept_ = 0.0
        self.loss_history_ = []
        for it in range(self.n_iter):
            self.loss_history_.append(np.mean((self.predict(X) - y) ** 2))
            gw, gb = self.loss_gradient(X, y)
            self.coef_ -= self.learning_rate * gw
            self.intercept_ -= self.learning_rate * gb
        return self

    def predict(self, X):
        return np.asarray(X, dtype=float) @ self.coef_ + self.intercept_
"""

CORRECT_PART2 = """\
def relu(z):
    return np.maximum(z, 0)


class MLP:
    # older spelling of the API: class MLP, fit / n_iter (accepted aliases)
    def __init__(self, hidden_layer_sizes=(100,), learning_rate=0.001, n_iter=10, random_state=0):
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.random_state = random_state

    def _init_weights(self, d):
        rng = np.random.default_rng(self.random_state)
        dims = (d,) + self.hidden_layer_sizes + (1,)
        self.coefs_ = [rng.standard_normal((m, k)) * np.sqrt(2 / m) for m, k in zip(dims, dims[1:])]
        self.intercepts_ = [np.zeros(k) for k in dims[1:]]

    def _forward(self, X):
        zs, hs = [], [np.asarray(X, dtype=float)]
        for i, (W, b) in enumerate(zip(self.coefs_, self.intercepts_)):
            z = hs[-1] @ W + b
            zs.append(z)
            hs.append(z if i == len(self.coefs_) - 1 else relu(z))
        return zs, hs

    def loss_gradients(self, X, y):
        zs, hs = self._forward(X)
        n = len(hs[0])
        g = (2 / n) * (hs[-1][:, 0] - np.ravel(y))[:, None]
        gW, gb = [], []
        for i in reversed(range(len(self.coefs_))):
            gW.append(hs[i].T @ g)
            gb.append(g.sum(0))
            if i:
                g = (g @ self.coefs_[i].T) * (zs[i - 1] > 0)
        return gW[::-1], gb[::-1]

    def fit(self, X, y):
        X = np.asarray(X, dtype=float)
        self._init_weights(X.shape[1])
        self.loss_history_ = []
        for _ in range(self.n_iter):
            self.loss_history_.append(float(np.mean((self.predict(X) - np.ravel(y)) ** 2)))
            gW, gb = self.loss_gradients(X, y)
            for i in range(len(gW)):
                self.coefs_[i] -= self.learning_rate * gW[i]
                self.intercepts_[i] -= self.learning_rate * gb[i]
        return self

    def predict(self, X):
        return self._forward(X)[1][-1][:, 0]
"""


def in_api(text: str, *, linear: str = "", mlp: str = "", method: str = "", iters: str = "") -> str:
    """A try cell written against other spellings of the API (last year's, or a mix)."""
    if linear:
        text = text.replace("LinearRegressionGD(", f"{linear}(")
    if mlp:
        text = text.replace("MLPRegressor(", f"{mlp}(")
    if method:
        text = text.replace(".train(", f".{method}(")
    if iters:
        text = text.replace("max_iter=", f"{iters}=")
    return text


CORRECT_TRY1 = in_api(PART1_TRY, method="fit", iters="n_iter")
CORRECT_TRY2 = in_api(PART2_TRY, mlp="MLP", method="fit", iters="n_iter")

CORRECT_Q1 = (
    "Слишком маленький шаг (0.001) — ошибка убывает очень медленно, за 200 итераций до МНК далеко. "
    "Шаг 0.1–0.2 сходится быстро, а 0.3 уже расходится: loss растёт с каждой итерацией."
)
CORRECT_Q2 = (
    "Конечные разности не требуют вывода производных, поэтому ими удобно ловить ошибки в backprop. "
    "Центральная разность точна до eps², я беру eps = 1e-6: меньше — мешает округление float64."
)

# missing ReLU derivative: the backward pass treats ReLU as the identity
PARTIAL_PART2 = REF_PART2.replace(
    "                delta = (delta @ self.coefs_[k].T) * (activations[k] > 0)\n",
    "                delta = delta @ self.coefs_[k].T\n",
)
# the output layer's δ is never carried back: every layer's step uses it (numpy broadcasts the
# (fan_in, 1) gradient over the (fan_in, fan_out) weights, so nothing fails)
NO_HIDDEN_DELTAS_PART2 = REF_PART2.replace(
    "            if k > 0:\n"
    "                # назад через W_k и ReLU: производная ReLU = 1 там, где a_k > 0\n"
    "                delta = (delta @ self.coefs_[k].T) * (activations[k] > 0)\n",
    "",
)
# δ already holds 1/n: averaging it over the batch again makes bias steps n times too short
BIAS_MEAN_PART2 = REF_PART2.replace(
    "grad_intercepts[k] = delta.sum(axis=0)", "grad_intercepts[k] = delta.mean(axis=0)"
)
# a forgotten colon in the MLP cell: the whole cell fails to parse
SYNTAX_PART2 = REF_PART2.replace("    def train(self, X, y):\n", "    def train(self, X, y)\n")
INFINITE_LOOP = """\
# обучаем, пока не надоест
while True:
    pass
"""
FORBIDDEN_IMPORTS = "import torch  # сверю градиенты с autograd\n" + IMPORTS


REF_GRADCHECK = """\
small = MLPRegressor(hidden_layer_sizes=(5, 3), learning_rate=0.01, max_iter=3, random_state=0)
small.train(X[:20], y_scaled[:20])
grad_coefs, grad_intercepts = small._gradients(X[:20], y_scaled[:20])
check_gradients(
    lambda: np.mean((small.predict(X[:20]) - y_scaled[:20]) ** 2),
    small.coefs_ + small.intercepts_,
    grad_coefs + grad_intercepts,
)
"""


def template_cells(
    *,
    part1: str = PART1_CODE,
    part2: str = PART2_CODE,
    try1: str = PART1_TRY,
    try2: str = PART2_TRY,
    imports: str = IMPORTS,
    q1: str = PLACEHOLDER,
    q2: str = PLACEHOLDER,
    extra_after_try1: str | None = None,
    extra_after_try2: str | None = None,
) -> list[tuple[str, str]]:
    cells = [
        ("markdown", INTRO),
        ("code", imports),
        ("markdown", PART1_MD),
        ("code", part1),
        ("markdown", PART1_TRY_MD),
        ("code", try1),
    ]
    if extra_after_try1:
        cells.append(("code", extra_after_try1))
    cells += [
        ("markdown", PART2_MD),
        ("code", part2),
        ("markdown", GRADCHECK_MD),
        ("code", GRADCHECK_CODE),
        ("code", try2),
    ]
    if extra_after_try2:
        cells.append(("code", extra_after_try2))
    cells += [
        ("markdown", QUESTIONS_MD),
        ("markdown", answer_cell("q1", Q1_PROMPT, q1)),
        ("markdown", answer_cell("q2", Q2_PROMPT, q2)),
    ]
    return cells


LAST_YEAR = {"linear": "LinearRegressorGD", "method": "fit", "iters": "n_iter"}
ANSWERS = {"q1": CORRECT_Q1, "q2": CORRECT_Q2}


def samples() -> dict[str, list[tuple[str, str]]]:
    """Every sample submission but invalid_json, by folder name (= the outcome it must get)."""
    reference = dict(part1=REF_PART1, part2=REF_PART2, q1=REF_Q1, q2=REF_Q2)
    gd_bug = dict(part2=REF_PART2, **ANSWERS)
    mlp_bug = dict(part1=REF_PART1, **ANSWERS)
    return {
        "correct": template_cells(
            part1=CORRECT_PART1,
            part2=CORRECT_PART2,
            try1=CORRECT_TRY1,
            try2=CORRECT_TRY2,
            **ANSWERS,
        ),
        "correct_last_year_template": template_cells(
            part1=v.LAST_YEAR_LINEAR,
            part2=v.LAST_YEAR_SIGMOID_MLP,
            try1=in_api(PART1_TRY, **LAST_YEAR),
            try2=in_api(PART2_TRY, method="fit", iters="n_iter"),
            **ANSWERS,
        ),
        "correct_theta_tanh_half_mse": template_cells(
            part1=v.THETA_LINEAR, part2=v.TANH_LAYERS_MLP, **ANSWERS
        ),
        "correct_wb_folded_bias": template_cells(
            part1=v.WB_LINEAR,
            part2=v.FOLDED_BIAS_MLP,
            try1=in_api(PART1_TRY, iters="n_iter"),
            **ANSWERS,
        ),
        "correct_weight_copies_and_big_buffer": template_cells(
            part1=REF_PART1, part2=v.SNAPSHOTS_MLP, **ANSWERS
        ),
        "gd_fails_learning_rate_ignored": template_cells(
            part1=v.LR_IGNORED_LINEAR, try1=in_api(PART1_TRY, iters="n_iter"), **gd_bug
        ),
        "gd_fails_diverges": template_cells(
            part1=v.DIVERGING_LINEAR, try1=in_api(PART1_TRY, iters="n_iter"), **gd_bug
        ),
        "gd_fails_lstsq_fake_history": template_cells(part1=v.LSTSQ_LINEAR, **gd_bug),
        "mlp_fails_wrong_activation_derivative": template_cells(
            part2=v.WRONG_DERIVATIVE_MLP,
            try2=in_api(PART2_TRY, method="fit", iters="n_iter"),
            **mlp_bug,
        ),
        "mlp_fails_no_hidden_deltas": template_cells(part2=NO_HIDDEN_DELTAS_PART2, **mlp_bug),
        "mlp_fails_bias_gradient_mean": template_cells(part2=BIAS_MEAN_PART2, **mlp_bug),
        "mlp_fails_finite_differences": template_cells(part2=v.FINITE_DIFFERENCES_MLP, **mlp_bug),
        "partial_gd_only": template_cells(**{**reference, "part2": PARTIAL_PART2}),
        "forbidden_torch": template_cells(**reference, imports=FORBIDDEN_IMPORTS),
        "syntax_error": template_cells(**{**reference, "part2": SYNTAX_PART2}),
        "infinite_loop": template_cells(**reference, extra_after_try1=INFINITE_LOOP),
        "untouched_template": template_cells(),
    }


def main() -> None:
    edited = (PARTIAL_PART2, SYNTAX_PART2, NO_HIDDEN_DELTAS_PART2, BIAS_MEAN_PART2)
    assert all(text != REF_PART2 for text in edited), "variant edits missed"
    reference = dict(part1=REF_PART1, part2=REF_PART2, q1=REF_Q1, q2=REF_Q2)
    write_notebook(HERE / "template.ipynb", ID, template_cells())
    write_notebook(
        REPO / "reference_solutions" / f"{ID}.ipynb",
        ID,
        template_cells(**reference, extra_after_try2=REF_GRADCHECK),
    )
    for name, cells in samples().items():
        write_notebook(SAMPLES / name / "submission.ipynb", ID, cells)
    # a notebook cut off mid-file, as an interrupted upload leaves it
    text = nbformat.writes(make_notebook(ID, template_cells(**reference)))
    (SAMPLES / "invalid_json").mkdir(parents=True, exist_ok=True)
    (SAMPLES / "invalid_json" / "submission.ipynb").write_text(text[: len(text) // 2], "utf-8")


if __name__ == "__main__":
    main()
