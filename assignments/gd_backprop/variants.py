"""Class cells of the sample submissions of gd_backprop: correct solutions in several styles and
typical bugs. build_notebooks.py puts them into notebooks; each sample's expected.toml says what
it must get. Each text is a notebook cell defining one class (and its helpers).

Styles covered by the correct ones: this year's API (train / max_iter) and last year's public
template (LinearRegressorGD, MLPRegressor with fit / n_iter / forward / backward / get_params),
Sigmoid, tanh and ReLU, MSE and 1/2·MSE, zero and random init (seeded, global or unseeded),
bias as a vector, a column vector or a column of ones folded into the weights, weights stored
(in, out) or transposed, in lists, dicts or layer objects, y kept as (n,) or reshaped to (n, 1),
predict returning (n,) or (n, 1), fit returning self or None. Bugs that are one edit of the
reference solution (no ReLU mask, δ not carried back, bias gradient averaged) are made from it
in build_notebooks.py.
"""

from __future__ import annotations

# ------------------------------------------------------------------ part 1, correct
LAST_YEAR_LINEAR = """\
class LinearRegressorGD:
    \"\"\"
    Линейная регрессия с использованием Gradient Descent
    \"\"\"

    def __init__(self, learning_rate=0.01, n_iter=1000):
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.coef_ = None
        self.intercept_ = None

    def fit(self, X, y):
        X = np.asarray(X, dtype="float64")
        y = np.asarray(y, dtype="float64").reshape(-1)
        n_objects, n_features = X.shape
        # small random start, as in the lecture notes
        self.coef_ = np.random.normal(0, 0.01, n_features)
        self.intercept_ = np.random.normal(0, 0.01)
        self.losses = []
        for i in range(self.n_iter):
            error = self.predict(X) - y
            self.losses.append(np.mean(error ** 2))
            coef_grad = (2 / n_objects) * np.dot(X.T, error)
            intercept_grad = (2 / n_objects) * np.sum(error)
            self.coef_ -= self.learning_rate * coef_grad
            self.intercept_ -= self.learning_rate * intercept_grad

    def predict(self, X):
        X = np.asarray(X, dtype="float64")
        return np.dot(X, self.coef_) + self.intercept_

    def get_params(self):
        return {"intercept": self.intercept_, "coef": self.coef_}
"""

THETA_LINEAR = """\
class LinearRegressionGD:
    # theta = [b, w_1, ..., w_d] with a column of ones in front; loss 1/2 * MSE
    def __init__(self, learning_rate=0.01, max_iter=1000):
        self.learning_rate = learning_rate
        self.max_iter = max_iter

    @staticmethod
    def _design(X):
        X = np.asarray(X, dtype=float)
        return np.hstack([np.ones((X.shape[0], 1)), X])

    def train(self, X, y):
        A = self._design(X)
        y = np.asarray(y, dtype=float).reshape(-1, 1)
        self.theta = np.zeros((A.shape[1], 1))
        self.history = []
        for _ in range(self.max_iter):
            r = A @ self.theta - y
            self.history.append(0.5 * float(np.mean(r ** 2)))
            self.theta = self.theta - self.learning_rate * (A.T @ r) / len(y)
        return self

    def predict(self, X):
        return self._design(X) @ self.theta
"""

WB_LINEAR = """\
class LinearRegressionGD:
    \"\"\"y_hat = X @ w + b, MSE, plain gradient descent.\"\"\"

    def __init__(self, learning_rate=0.01, n_iter=1000):
        self.learning_rate = learning_rate
        self.n_iter = n_iter

    def gradient(self, X, y):
        err = X @ self.w + self.b - y
        return 2 * X.T @ err / len(y), 2 * err.mean()

    def train(self, X, y):
        X, y = np.asarray(X, float), np.ravel(y).astype(float)
        self.w, self.b = np.zeros(X.shape[1]), 0.0
        for step in range(self.n_iter):
            dw, db = self.gradient(X, y)
            self.w = self.w - self.learning_rate * dw
            self.b = self.b - self.learning_rate * db

    def predict(self, X):
        return np.asarray(X, float) @ self.w + self.b
"""

# ------------------------------------------------------------------ part 1, bugs
LR_IGNORED_LINEAR = WB_LINEAR.replace(
    "        self.learning_rate = learning_rate\n",
    "        self.learning_rate = 0.01  # шаг, который у меня хорошо работал\n",
)

DIVERGING_LINEAR = WB_LINEAR.replace(
    "        return 2 * X.T @ err / len(y), 2 * err.mean()\n",
    "        return 2 * X.T @ err, 2 * err.sum()  # забыт множитель 1/n\n",
)

LSTSQ_LINEAR = """\
class LinearRegressionGD:
    def __init__(self, learning_rate=0.01, max_iter=1000):
        self.learning_rate = learning_rate
        self.max_iter = max_iter

    def train(self, X, y):
        A = np.column_stack([X, np.ones(len(X))])
        theta = np.linalg.lstsq(A, y, rcond=None)[0]
        self.coef_, self.intercept_ = theta[:-1], theta[-1]
        best = float(np.mean((A @ theta - y) ** 2))
        start = float(np.mean(y ** 2))
        # a believable loss curve
        self.loss_history_ = [best + (start - best) * 0.97 ** k for k in range(self.max_iter)]
        return self

    def predict(self, X):
        return X @ self.coef_ + self.intercept_
"""

# ------------------------------------------------------------------ part 2, correct
LAST_YEAR_SIGMOID_MLP = """\
class MLPRegressor:
    \"\"\"
    Многослойный перцептрон (MLP) для задачи регрессии, использующий алгоритм
    обратного распространения ошибки
    \"\"\"

    def __init__(self, hidden_layer_sizes=(100,), learning_rate=0.01, n_iter=100):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.weights = None
        self.biases = None

    @staticmethod
    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))

    def forward(self, X):
        self.activations = [X]
        a = X
        for i in range(len(self.weights)):
            z = a @ self.weights[i] + self.biases[i]
            a = z if i == len(self.weights) - 1 else self.sigmoid(z)
            self.activations.append(a)
        return a

    def backward(self, X, y):
        n = X.shape[0]
        out = self.forward(X)
        delta = 2 * (out - y) / n
        grads_w, grads_b = [], []
        for i in reversed(range(len(self.weights))):
            grads_w.insert(0, self.activations[i].T @ delta)
            grads_b.insert(0, delta.sum(axis=0, keepdims=True))
            if i > 0:
                a = self.activations[i]
                delta = (delta @ self.weights[i].T) * a * (1 - a)
        return grads_w, grads_b

    def fit(self, X, y):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        sizes = [X.shape[1], *self.hidden_layer_sizes, 1]
        self.weights, self.biases = [], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            limit = np.sqrt(6 / (fan_in + fan_out))  # Xavier
            self.weights.append(np.random.uniform(-limit, limit, (fan_in, fan_out)))
            self.biases.append(np.zeros((1, fan_out)))
        self.loss_history = []
        for it in range(self.n_iter):
            grads_w, grads_b = self.backward(X, y)
            for i in range(len(self.weights)):
                self.weights[i] -= self.learning_rate * grads_w[i]
                self.biases[i] -= self.learning_rate * grads_b[i]
            loss = np.mean((self.predict(X) - y) ** 2)
            self.loss_history.append(loss)
            if (it + 1) % 500 == 0:
                print(f"iteration {it + 1}/{self.n_iter}, loss {loss:.5f}")

    def predict(self, X):
        return self.forward(np.asarray(X, dtype=float))
"""

TANH_LAYERS_MLP = """\
class Dense:
    \"\"\"One layer, weights stored (out, in) and a column bias, as in the lecture slides.\"\"\"

    def __init__(self, n_in, n_out, rng):
        self.W = rng.normal(0.0, 1.0 / np.sqrt(n_in), size=(n_out, n_in))
        self.b = np.zeros((n_out, 1))

    def forward(self, A):          # A: (features, batch)
        self.A_in = A
        return self.W @ A + self.b


class MLPRegressor:
    \"\"\"tanh hidden layers, loss 1/2 * MSE, samples in columns.\"\"\"

    def __init__(self, hidden_layer_sizes=(100,), learning_rate=0.001, max_iter=10, seed=42):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.seed = seed

    def _output(self, X):
        A = np.asarray(X, dtype=float).T
        for k, layer in enumerate(self.layers):
            Z = layer.forward(A)
            A = Z if k == len(self.layers) - 1 else np.tanh(Z)
            layer.out = A
        return A                                    # (1, batch)

    def _step(self, X, y):
        n = X.shape[0]
        dA = (self._output(X) - y.reshape(1, -1)) / n   # d(1/2 MSE)/d y_hat
        for k in reversed(range(len(self.layers))):
            layer = self.layers[k]
            dZ = dA if k == len(self.layers) - 1 else dA * (1 - layer.out ** 2)
            dA = layer.W.T @ dZ
            layer.dW = dZ @ layer.A_in.T
            layer.db = dZ.sum(axis=1, keepdims=True)
        for layer in self.layers:
            layer.W -= self.learning_rate * layer.dW
            layer.b -= self.learning_rate * layer.db

    def train(self, X, y):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        rng = np.random.default_rng(self.seed)
        sizes = [X.shape[1], *self.hidden_layer_sizes, 1]
        self.layers = [Dense(a, b, rng) for a, b in zip(sizes[:-1], sizes[1:])]
        for _ in range(self.max_iter):
            self._step(X, y)
        return self

    def predict(self, X):
        return self._output(X).ravel()
"""

FOLDED_BIAS_MLP = """\
def relu(z):
    return np.maximum(0, z)


def add_ones(A):
    return np.hstack([A, np.ones((A.shape[0], 1))])


class MLPRegressor:
    # the bias of every layer is the last row of its weight matrix (inputs get a column of ones)
    def __init__(self, hidden_layer_sizes=(100,), learning_rate=0.001, max_iter=10):
        self.hidden_layer_sizes = list(hidden_layer_sizes)
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.params = {}

    def init_params(self, d):
        rng = np.random.default_rng()
        sizes = [d] + self.hidden_layer_sizes + [1]
        for i in range(len(sizes) - 1):
            W = rng.normal(size=(sizes[i] + 1, sizes[i + 1])) * np.sqrt(2 / sizes[i])
            W[-1] = 0.0
            self.params[f"W{i + 1}"] = W

    def forward(self, X):
        cache = {"A0": X}
        A = X
        L = len(self.params)
        for i in range(1, L + 1):
            Z = add_ones(A) @ self.params[f"W{i}"]
            A = Z if i == L else relu(Z)
            cache[f"Z{i}"], cache[f"A{i}"] = Z, A
        return A, cache

    def gradients(self, X, y):
        out, cache = self.forward(X)
        L = len(self.params)
        dZ = 2 * (out - y[:, None]) / len(y)
        grads = {}
        for i in range(L, 0, -1):
            grads[f"W{i}"] = add_ones(cache[f"A{i - 1}"]).T @ dZ
            if i > 1:
                dA = dZ @ self.params[f"W{i}"][:-1].T
                dZ = dA * (cache[f"Z{i - 1}"] > 0)
        return grads

    def train(self, X, y):
        X, y = np.asarray(X, float), np.asarray(y, float).ravel()
        self.init_params(X.shape[1])
        self.loss_curve = []
        for _ in range(self.max_iter):
            grads = self.gradients(X, y)
            for key in self.params:
                self.params[key] = self.params[key] - self.learning_rate * grads[key]
            self.loss_curve.append(float(np.mean((self.predict(X) - y) ** 2)))
        return self

    def predict(self, X):
        return self.forward(np.asarray(X, float))[0][:, 0]
"""

# ------------------------------------------------------------------ part 2, bugs
# the derivative of the sigmoid taken at the activation instead of the pre-activation
WRONG_DERIVATIVE_MLP = LAST_YEAR_SIGMOID_MLP.replace(
    "                delta = (delta @ self.weights[i].T) * a * (1 - a)\n",
    "                s = self.sigmoid(a)\n"
    "                delta = (delta @ self.weights[i].T) * s * (1 - s)\n",
)

# gradients by central finite differences of the loss instead of backpropagation
FINITE_DIFFERENCES_MLP = """\
class MLPRegressor:
    def __init__(self, hidden_layer_sizes=(100,), learning_rate=0.001, max_iter=10, random_state=0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.random_state = random_state

    def _loss(self, X, y):
        return np.mean((self.predict(X) - y) ** 2)

    def _gradients(self, X, y, eps=1e-6):
        grads = []
        for p in self.coefs_ + self.intercepts_:
            g = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + eps
                plus = self._loss(X, y)
                p[idx] = old - eps
                minus = self._loss(X, y)
                p[idx] = old
                g[idx] = (plus - minus) / (2 * eps)
            grads.append(g)
        return grads

    def train(self, X, y):
        rng = np.random.default_rng(self.random_state)
        sizes = [X.shape[1], *self.hidden_layer_sizes, 1]
        self.coefs_ = [rng.normal(0, np.sqrt(2 / m), (m, k)) for m, k in zip(sizes, sizes[1:])]
        self.intercepts_ = [np.zeros(k) for k in sizes[1:]]
        for _ in range(self.max_iter):
            grads = self._gradients(X, y)
            for p, g in zip(self.coefs_ + self.intercepts_, grads):
                p -= self.learning_rate * g
        return self

    def predict(self, X):
        a = np.asarray(X, dtype=float)
        for k, (W, b) in enumerate(zip(self.coefs_, self.intercepts_)):
            a = a @ W + b
            if k < len(self.coefs_) - 1:
                a = np.maximum(a, 0)
        return a.ravel()
"""

# ------------------------------------------------------------------ part 2, correct but crowded
# copies of the weights after every step (for plots) and a large preallocated buffer, both
# stored before the weights: the tests must find the weights past them, in bounded time
SNAPSHOTS_MLP = """\
class MLPRegressor:
    def __init__(self, hidden_layer_sizes=(100,), learning_rate=0.001, max_iter=10):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.snapshots = []
        self.workspace = np.zeros(2_500_000)

    def _forward(self, X):
        acts = [np.asarray(X, dtype=float)]
        for k, (W, b) in enumerate(zip(self.Ws, self.bs)):
            z = acts[-1] @ W + b
            acts.append(z if k == len(self.Ws) - 1 else np.maximum(z, 0))
        return acts

    def train(self, X, y):
        sizes = [X.shape[1], *self.hidden_layer_sizes, 1]
        self.Ws = [np.random.randn(m, k) * np.sqrt(2 / m) for m, k in zip(sizes, sizes[1:])]
        self.bs = [np.zeros(k) for k in sizes[1:]]
        self.snapshots = []
        y = np.asarray(y, dtype=float).reshape(-1, 1)
        for _ in range(self.max_iter):
            acts = self._forward(X)
            delta = 2 * (acts[-1] - y) / len(y)
            grads = []
            for k in reversed(range(len(self.Ws))):
                grads.append((acts[k].T @ delta, delta.sum(axis=0)))
                if k:
                    delta = (delta @ self.Ws[k].T) * (acts[k] > 0)
            for k, (gW, gb) in enumerate(reversed(grads)):
                self.Ws[k] = self.Ws[k] - self.learning_rate * gW
                self.bs[k] = self.bs[k] - self.learning_rate * gb
            self.snapshots.append([W.copy() for W in self.Ws] + [b.copy() for b in self.bs])
        return self

    def predict(self, X):
        return self._forward(X)[-1].ravel()
"""
