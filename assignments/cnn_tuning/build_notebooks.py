"""Build the notebooks of cnn_tuning from the cell texts below (deterministic, no outputs).

    python assignments/cnn_tuning/build_notebooks.py

Writes assignments/cnn_tuning/template.ipynb, reference_solutions/cnn_tuning.ipynb and the
sample submissions student_submissions/cnn_tuning/*/submission.ipynb (their expected.toml files
are written by hand). Edit the texts here and in sample_variants.py (other students' styles,
typical bugs, cheats), not the notebooks. The answers about the parameter count and the
largest layer are computed here from each notebook's own model (torch is needed to run this
script), so they cannot drift from the code. The lookup-table cheat is built from the public
MNIST test files (``data/make_data.py --source``).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import math
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.course.authoring import write_notebook

ID = "cnn_tuning"
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SAMPLES = REPO / "student_submissions" / ID
PLACEHOLDER = "ваш ответ здесь"

# ------------------------------------------------------------------ shared cells
INTRO = """\
# Домашнее задание 2: свёрточная сеть для рукописных цифр

Обучите CNN на PyTorch, которая распознаёт рукописные цифры (MNIST, 28×28), **как можно
точнее и при этом как можно меньше**, и напишите отчёт об экспериментах.

**Баллы (12):** точность на скрытой тестовой выборке — 4, размер модели — 2, контракт
(`model`, `predict`, `history`, `config`) — 1, числа в отчёте (q2a, q2b) — 1, ответы на
вопросы — 4. Пороги и правила — в `README.md` задания.

**Что должно остаться после *Restart & Run all*:**
* `model` — обученная итоговая модель (`torch.nn.Module`);
* `predict(images)` — принимает uint8-массив `(N, 28, 28)` (как в `data/`), возвращает метки
  классов формы `(N,)`;
* `history` — словарь списков по эпохам: `train_loss`, `val_loss`, `train_acc`, `val_acc`;
* `config` — словарь гиперпараметров (как минимум `epochs`, `batch_size`, `lr`).

**Правила.** Данные — в папке `data/` рядом с ноутбуком (в Colab загрузите туда
`mnist_public.npz`). `torchvision` импортировать нельзя: в среде проверки его нет
(аугментацию пишите на `torch`). Ноутбук должен выполняться сверху вниз на CPU (2 ядра) быстрее
10 минут, одна ячейка — быстрее 5 минут; если дана GPU, он должен ею пользоваться. Ответы пишите
после маркеров `**Ответ q1:**`. Проверка перед сдачей: `grade check cnn_tuning.ipynb`.

*English: train a small, accurate CNN for MNIST digits; leave `model`, `predict`, `history`,
`config`; answer the questions after the `**Ответ qN:**` markers. Details: README.md.*
"""

SETUP = """\
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 0
torch.manual_seed(SEED)
np.random.seed(SEED)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print(f"device: {device}, torch {torch.__version__}, потоков CPU: {torch.get_num_threads()}")
"""

DATA_MD = """\
## 1. Данные

`data/mnist_public.npz` — часть тестовой выборки MNIST (Y. LeCun, C. Cortes, C. Burges,
CC BY-SA 3.0): 7000 картинок для обучения и 1000 для валидации, uint8 `(N, 28, 28)`, метки
0..9. Ещё 2000 картинок — скрытая тестовая выборка: на ней проверяющая система считает
точность вашей `predict`. Скрытые цифры слегка искажены (поворот до ±3°, масштаб до ±3 %,
сдвиг до ±0.5 пикселя, лёгкая упругая деформация): модель, обученная с аугментацией, этого
почти не заметит.
"""

DATA = """\
data = np.load("data/mnist_public.npz")
train_images, train_labels = data["train_images"], data["train_labels"]
val_images, val_labels = data["val_images"], data["val_labels"]
print("train:", train_images.shape, train_images.dtype, "| val:", val_images.shape)
"""

EDA_MD = """\
### Разведочный анализ

Сколько цифр каждого класса, какая яркость пикселей, как выглядят цифры. Среднее и стандартное
отклонение яркости понадобятся для нормализации входа.
"""

EDA = """\
print("цифр каждого класса, train:", np.bincount(train_labels, minlength=10))
print("цифр каждого класса, val:  ", np.bincount(val_labels, minlength=10))
MEAN = float(train_images.mean() / 255)
STD = float(train_images.std() / 255)
print(f"яркость пикселя (0..1): среднее {MEAN:.4f}, стандартное отклонение {STD:.4f}")
"""

EDA_PLOT = """\
import matplotlib.pyplot as plt

fig, axes = plt.subplots(2, 10, figsize=(10, 2.4))
for digit in range(10):
    for row, index in enumerate(np.flatnonzero(train_labels == digit)[:2]):
        axes[row, digit].imshow(train_images[index], cmap="gray_r")
        axes[row, digit].axis("off")
    axes[0, digit].set_title(str(digit))
plt.show()
"""

AUGMENT_MD = """\
## 2. Аугментация

Небольшие случайные повороты, сдвиги и масштаб: цифра остаётся той же цифрой. Отражения и
сильные повороты не годятся: отражённая «2» — уже не «2», а «6», повёрнутая на 180°, — «9».
"""

HELPERS_MD = """\
## 3. Модель и обучение

Вспомогательные функции: перевод картинок в тензоры, нормализация, оценка качества и подсчёт
параметров. Их можно менять.
"""

HELPERS = """\
def to_tensor(images):
    \"\"\"uint8 (N, 28, 28) → float-тензор (N, 1, 28, 28) со значениями 0..1 на device.\"\"\"
    x = torch.as_tensor(np.asarray(images), dtype=torch.float32, device=device)
    return x.unsqueeze(1) / 255


def normalize(x):
    return (x - MEAN) / STD


def evaluate(model, x, y, batch_size=1000):
    \"\"\"(loss, accuracy) на тензорах x (0..1) и y, без градиентов, dropout и аугментации.\"\"\"
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(normalize(x[start:start + batch_size]))
            target = y[start:start + batch_size]
            total_loss += F.cross_entropy(logits, target, reduction="sum").item()
            correct += (logits.argmax(1) == target).sum().item()
    return total_loss / len(x), correct / len(x)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


def parameters_by_layer(model):
    \"\"\"Параметры каждого слоя (weight и bias вместе), как в model.named_parameters().\"\"\"
    counts = {}
    for name, p in model.named_parameters():
        layer = name.rsplit(".", 1)[0]
        counts[layer] = counts.get(layer, 0) + p.numel()
    return counts
"""

CURVES = """\
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
epochs = range(1, len(history["train_loss"]) + 1)
ax_loss.plot(epochs, history["train_loss"], "o-", label="train")
ax_loss.plot(epochs, history["val_loss"], "s--", label="val")
ax_loss.set_title("loss")
ax_acc.plot(epochs, history["train_acc"], "o-", label="train")
ax_acc.plot(epochs, history["val_acc"], "s--", label="val")
ax_acc.set_title("accuracy")
for ax in (ax_loss, ax_acc):
    ax.set_xlabel("эпоха")
    ax.grid(alpha=0.3)
    ax.legend()
plt.show()
"""

PREDICT = """\
def predict(images):
    \"\"\"Метки классов (N,) для uint8-картинок (N, 28, 28) — таких же, как в data/.\"\"\"
    model.eval()
    with torch.no_grad():
        x = normalize(to_tensor(images))
        labels = [model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)]
    return torch.cat(labels).cpu().numpy()


val_pred = predict(val_images)
print(f"точность на валидации: {np.mean(val_pred == val_labels):.4f}")
print("ошибок по классам:", np.bincount(val_labels[val_pred != val_labels], minlength=10))
"""

ANSWERS_MD = """\
## 5. Отчёт

Ответы пишите сразу после маркера `**Ответ qN:**` (маркер не меняйте). q2a и q2b проверяются
автоматически по вашей итоговой модели: в q2a — целое число, в q2b — имя слоя, как в
`model.named_parameters()` без `.weight`/`.bias`. Остальные ответы читает преподаватель: пишите
по существу, со ссылками на свои эксперименты (не меньше 15 слов, в выводах — 25).
"""

QUESTIONS = [
    ("q1", "Какую функцию потерь вы использовали и почему?"),
    ("q2a", "Сколько параметров у итоговой модели? (целое число)"),
    ("q2b", "В каком слое больше всего обучаемых параметров? (имя слоя)"),
    ("q3", "Как вы добивались максимального качества и как — минимального размера модели?"),
    ("q4", "Как вы обнаруживали переобучение и как с ним боролись?"),
    ("q5", "Как можно ускорить обучение?"),
    (
        "q6",
        "Что такое transfer learning и почему сеть, предобученная на другом датасете, "
        "может здесь помочь?",
    ),
    (
        "q7",
        "Зачем нужна аугментация, как она влияет на время обучения и на обобщающую способность?",
    ),
    ("q8", "Выводы: что показали эксперименты и что вы попробовали бы дальше?"),
]


def answer_cell(qid: str, prompt: str, text: str) -> str:
    return f"### Вопрос {qid}\n{prompt}\n\n**Ответ {qid}:** {text}\n"


def answer_cells(texts: dict[str, str]) -> list[tuple[str, str]]:
    cells = [("markdown", ANSWERS_MD)]
    cells += [("markdown", answer_cell(q, p, texts.get(q, PLACEHOLDER))) for q, p in QUESTIONS]
    return cells


# ------------------------------------------------------------------ template only
TEMPLATE_EDA_MD = """\
Добавьте свой анализ: примеры цифр каждого класса, гистограмма яркости, что-то ещё, что поможет
выбрать нормализацию и аугментацию.
"""

TEMPLATE_AUGMENT = """\
def augment(x):
    \"\"\"Случайно искажает батч x формы (B, 1, 28, 28) со значениями 0..1, не портя цифры.

    Подсказка: F.affine_grid + F.grid_sample дают поворот, сдвиг и масштаб одной операцией.
    \"\"\"
    # ваш код здесь
    raise NotImplementedError
"""

TEMPLATE_MODEL = """\
class DigitCNN(nn.Module):
    \"\"\"Ваша свёрточная сеть: (B, 1, 28, 28) → логиты (B, 10).\"\"\"

    def __init__(self):
        super().__init__()
        # ваш код здесь: свёртки, нормализация, dropout, линейный слой

    def forward(self, x):
        # ваш код здесь
        raise NotImplementedError
"""

TEMPLATE_TRAIN = """\
def train_model(config, train_images, train_labels, val_images, val_labels):
    \"\"\"Обучает модель по config; возвращает (model, history).

    history — словарь списков по эпохам: train_loss, val_loss, train_acc, val_acc
    (точность — доля от 0 до 1).
    \"\"\"
    # ваш код здесь: оптимизатор, (планировщик lr), цикл по эпохам и батчам, аугментация,
    # после каждой эпохи — evaluate(...) на валидации и запись в history
    raise NotImplementedError
"""

TEMPLATE_EXPERIMENTS_MD = """\
### Эксперименты

Сравните несколько вариантов (эпохи, learning rate, число и ширина слоёв, BatchNorm, dropout,
аугментация): для каждого запишите гиперпараметры, число параметров, кривые обучения и точность
на валидации. Удобно собирать строки в список `experiments` и печатать таблицу.
"""

TEMPLATE_FINAL = """\
# Итоговая модель. Задайте все важные гиперпараметры явно в словаре config
# (обязательно: epochs, batch_size, lr), затем обучите модель:
#
# config = {"epochs": ..., "batch_size": ..., "lr": ..., "optimizer": ..., ...}
# model, history = train_model(config, train_images, train_labels, val_images, val_labels)
"""

TEMPLATE_PREDICT = """\
# Функция predict для проверяющей системы:
#
# def predict(images):
#     \"\"\"uint8-массив (N, 28, 28) → метки классов (N,).\"\"\"
#     ...
"""

CURVES_MD = """\
## 4. Кривые обучения и итоговое качество
"""


OPENING = [
    ("markdown", INTRO),
    ("code", SETUP),
    ("markdown", DATA_MD),
    ("code", DATA),
    ("markdown", EDA_MD),
    ("code", EDA),
]
"""The cells the template and the reference (so every sample) start with."""


def template_cells() -> list[tuple[str, str]]:
    return [
        *OPENING,
        ("markdown", TEMPLATE_EDA_MD),
        ("code", ""),
        ("markdown", AUGMENT_MD),
        ("code", TEMPLATE_AUGMENT),
        ("markdown", HELPERS_MD),
        ("code", HELPERS),
        ("code", TEMPLATE_MODEL),
        ("code", TEMPLATE_TRAIN),
        ("markdown", TEMPLATE_EXPERIMENTS_MD),
        ("code", ""),
        ("code", TEMPLATE_FINAL),
        ("markdown", CURVES_MD),
        ("code", TEMPLATE_PREDICT),
        *answer_cells({}),
    ]


# ------------------------------------------------------------------ reference solution
REF_AUGMENT = """\
def augment(x, max_degrees=10.0, max_shift=2.0, max_scale=0.1):
    \"\"\"Случайные поворот (±max_degrees°), сдвиг (±max_shift пикселей) и масштаб (±max_scale)
    каждой картинки батча x формы (B, 1, 28, 28) со значениями 0..1; фон остаётся нулевым.\"\"\"
    n = x.shape[0]
    angle = (torch.rand(n, device=x.device) * 2 - 1) * math.radians(max_degrees)
    scale = 1 + (torch.rand(n, device=x.device) * 2 - 1) * max_scale
    shift = (torch.rand(n, 2, device=x.device) * 2 - 1) * max_shift * 2 / 28
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


examples = augment(torch.as_tensor(train_images[:8] / 255, dtype=torch.float32).unsqueeze(1))
fig, axes = plt.subplots(1, 8, figsize=(8, 1.3))
for ax, image in zip(axes, examples[:, 0]):
    ax.imshow(image, cmap="gray_r")
    ax.axis("off")
plt.show()
"""

REF_MODEL = """\
class DigitCNN(nn.Module):
    \"\"\"Три блока conv3×3 → BatchNorm → ReLU → MaxPool (28 → 14 → 7 → 3), dropout, Linear.

    Свёртки без bias: за каждой идёт BatchNorm со своим сдвигом, так что bias был бы лишним.
    \"\"\"

    def __init__(self, channels=(16, 32, 32), dropout=0.2):
        super().__init__()
        c1, c2, c3 = channels
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c2)
        self.conv3 = nn.Conv2d(c2, c3, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(c3)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c3 * 3 * 3, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.max_pool2d(F.relu(self.bn3(self.conv3(x))), 2)
        return self.fc(self.dropout(x.flatten(1)))


print("параметров:", count_parameters(DigitCNN()), parameters_by_layer(DigitCNN()))
"""

REF_TRAIN = """\
def train_model(config, train_images, train_labels, val_images, val_labels, verbose=True):
    \"\"\"Обучает DigitCNN по config; возвращает (model, history).

    train_loss / train_acc — средние по батчам эпохи (с аугментацией и dropout),
    val_loss / val_acc — после эпохи, в режиме eval.
    \"\"\"
    torch.manual_seed(config["seed"])
    x_train, y_train = to_tensor(train_images), torch.as_tensor(train_labels, device=device)
    x_val, y_val = to_tensor(val_images), torch.as_tensor(val_labels, device=device)
    model = DigitCNN(config["channels"], config["dropout"]).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config["lr"],
                                  weight_decay=config["weight_decay"])
    steps = config["epochs"] * math.ceil(len(x_train) / config["batch_size"])
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config["lr"],
                                                    total_steps=steps)
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": [], "seconds": []}
    for epoch in range(config["epochs"]):
        started = time.time()
        model.train()
        order = torch.randperm(len(x_train), device=device)
        loss_sum, correct = 0.0, 0
        for start in range(0, len(x_train), config["batch_size"]):
            batch = order[start:start + config["batch_size"]]
            x, y = x_train[batch], y_train[batch]
            if config["augment"]:
                x = augment(x)
            logits = model(normalize(x))
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
        val_loss, val_acc = evaluate(model, x_val, y_val)
        history["train_loss"].append(loss_sum / len(x_train))
        history["train_acc"].append(correct / len(x_train))
        history["val_loss"].append(val_loss)
        history["val_acc"].append(val_acc)
        history["seconds"].append(time.time() - started)
        if verbose:
            print(f"эпоха {epoch + 1}: train loss {history['train_loss'][-1]:.4f} "
                  f"acc {history['train_acc'][-1]:.4f} | val loss {val_loss:.4f} "
                  f"acc {val_acc:.4f} | {history['seconds'][-1]:.1f} с")
    return model, history
"""

REF_CONFIG = """\
config = {
    "epochs": 5,
    "batch_size": 128,
    "lr": 0.01,                 # максимальный lr OneCycle
    "optimizer": "AdamW",
    "weight_decay": 1e-4,
    "scheduler": "OneCycleLR",
    "channels": (16, 32, 32),
    "dropout": 0.2,
    "augment": True,            # поворот ±10°, сдвиг ±2 px, масштаб ±10 %
    "seed": SEED,
}
"""

REF_EXPERIMENTS = """\
# Короткие эксперименты (2 эпохи на 3000 картинках), чтобы сравнить варианты быстро;
# полные прогоны тех же вариантов описаны в отчёте.
experiments = []
variants = [("база", {}), ("узкая (8, 16, 16)", {"channels": (8, 16, 16)}),
            ("без аугментации", {"augment": False})]
for name, changes in variants:
    started = time.time()
    quick = {**config, "epochs": 2, **changes}
    m, h = train_model(quick, train_images[:3000], train_labels[:3000], val_images, val_labels,
                       verbose=False)
    experiments.append({"вариант": name, "параметров": count_parameters(m),
                        "train_acc": round(h["train_acc"][-1], 4),
                        "val_acc": round(h["val_acc"][-1], 4),
                        "секунд": round(time.time() - started, 1)})
for row in experiments:
    print(row)
"""

REF_FINAL = """\
started = time.time()
model, history = train_model(config, train_images, train_labels, val_images, val_labels)
print(f"обучение: {time.time() - started:.1f} с на {device}")
print("параметров:", count_parameters(model), "| по слоям:", parameters_by_layer(model))
"""

REF_ANSWERS = {
    "q1": (
        "Кросс-энтропию (F.cross_entropy: log-softmax + отрицательное лог-правдоподобие "
        "правильного класса). Это стандартная потеря для многоклассовой классификации: она "
        "соответствует максимуму правдоподобия для категориального распределения, даёт хорошие "
        "градиенты даже при уверенных ошибках (в отличие от MSE на вероятностях) и не требует "
        "отдельного softmax в модели — сеть выдаёт логиты."
    ),
    "q3": (
        "Качество: BatchNorm после каждой свёртки (обучение стабильнее и быстрее), AdamW с "
        "расписанием OneCycle (большой lr в середине, затухание к концу), аугментация и лёгкий "
        "dropout перед последним слоем. Размер: три узких свёрточных блока (16, 32, 32 канала) "
        "и три MaxPool, так что на линейный слой приходит всего 32·3·3 = 288 признаков вместо "
        "тысяч; свёртки без bias, потому что сдвиг есть в BatchNorm. В итоге 17 018 параметров "
        "при точности на валидации около 0.99; узкая версия (8, 16, 16) — 5 058 параметров, "
        "в 3.4 раза меньше, — в коротком прогоне теряет 2–3 процентных пункта на валидации."
    ),
    "q4": (
        "Следил за кривыми train и val по эпохам: переобучение — это когда train loss "
        "продолжает падать, а val loss растёт и val accuracy перестаёт расти. Без аугментации "
        "в коротком прогоне train accuracy выше (0.95 против 0.92), а валидационная та же: "
        "модель сильнее подстраивается под обучающие картинки. Боролся аугментацией, dropout, "
        "weight decay в AdamW, маленькой моделью и небольшим числом эпох с затухающим lr; "
        "в итоговой модели val loss в целом падает до последней эпохи (небольшой скачок на "
        "третьей, когда lr максимален)."
    ),
    "q5": (
        "Обучать на GPU (ноутбук сам выбирает cuda, если она есть), держать весь датасет "
        "тензором на устройстве вместо DataLoader с поэлементной обработкой, брать батч "
        "побольше с пропорционально большим lr, использовать OneCycle, чтобы сойтись за "
        "меньшее число эпох, смешанную точность (torch.autocast) на GPU, channels_last, а "
        "также остановку по валидации, когда качество перестаёт расти."
    ),
    "q6": (
        "Transfer learning — перенос знаний: берём сеть, обученную на большом датасете "
        "(например, ImageNet или EMNIST), и дообучаем на своей задаче — только последний слой "
        "или всю сеть с маленьким lr. Первые слои такой сети уже умеют выделять края, штрихи и "
        "углы, а это полезно и для цифр, поэтому нужно меньше данных и эпох. Для MNIST с 7000 "
        "картинками выигрыш небольшой, а предобученные сети большие — это противоречит "
        "ограничению на размер модели."
    ),
    "q7": (
        "Аугментация искусственно расширяет обучающую выборку правдоподобными искажениями "
        "(повороты, сдвиги, масштаб), так что модель учится инвариантности к ним и меньше "
        "запоминает конкретные картинки — обобщение лучше, разрыв train/val меньше. Цена — "
        "каждая эпоха немного дольше (искажение батча на лету), а сходимость медленнее: "
        "задача на train труднее, нужно больше эпох. Искажать надо умеренно: отражения или "
        "поворот на 180° превращают одни цифры в другие."
    ),
    "q8": (
        "Эксперименты показали, что для MNIST достаточно маленькой сети: около 17 тысяч "
        "параметров и пяти эпох на CPU хватает для точности на валидации около 0.99, а "
        "широкие полносвязные слои почти не добавляют качества, но раздувают размер в десятки "
        "раз. BatchNorm и OneCycle дали самый большой прирост скорости сходимости, "
        "аугментация уменьшила переобучение. Дальше я бы попробовал depthwise-separable "
        "свёртки и global average pooling, чтобы ещё уменьшить модель, более долгое обучение "
        "с аугментацией, ансамбль или дистилляцию из большой модели и подбор гиперпараметров "
        "по сетке с несколькими сидами."
    ),
}


def reference_cells(
    *,
    helpers: str = HELPERS,
    model: str = REF_MODEL,
    config: str = REF_CONFIG,
    experiments: str | None = REF_EXPERIMENTS,
    final: str = REF_FINAL,
    predict: str = PREDICT,
    answers: dict[str, str] | None = None,
) -> list[tuple[str, str]]:
    """The reference notebook; samples swap single cells."""
    if answers is None:
        answers = reference_answers(model)
    cells: list[tuple[str, str]] = [
        *OPENING,
        ("code", EDA_PLOT),
        ("markdown", AUGMENT_MD),
        ("code", REF_AUGMENT),
        ("markdown", HELPERS_MD),
        ("code", helpers),
        ("code", model),
        ("code", REF_TRAIN),
        ("code", config),
    ]
    if experiments is not None:
        cells.append(("code", experiments))
    cells += [("code", final), ("markdown", CURVES_MD), ("code", CURVES), ("code", predict)]
    return cells + answer_cells(answers)


def build_net(model_cell: str, config_cell: str = REF_CONFIG) -> Any:
    """The torch model a notebook's model cell builds with its config (runs our own cells)."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    ns: dict[str, Any] = {"torch": torch, "nn": nn, "F": F, "math": math, "SEED": 0}
    exec(HELPERS[HELPERS.index("def count_parameters") :], ns)
    exec(model_cell.split("\nprint(")[0], ns)
    exec(config_cell, ns)
    return ns["DigitCNN"](ns["config"]["channels"], ns["config"]["dropout"])


def model_facts(model_cell: str, config_cell: str = REF_CONFIG) -> tuple[int, str]:
    """(parameter count, largest layer) of the model the cells build, as torch counts them."""
    return net_facts(build_net(model_cell, config_cell))


def net_facts(net: Any) -> tuple[int, str]:
    """(parameter count, largest layer) of a torch module."""
    by_layer: dict[str, int] = {}
    for name, p in net.named_parameters():
        layer = name.rsplit(".", 1)[0]
        by_layer[layer] = by_layer.get(layer, 0) + p.numel()
    return sum(p.numel() for p in net.parameters()), max(by_layer, key=lambda k: by_layer[k])


def reference_answers(model_cell: str = REF_MODEL, config_cell: str = REF_CONFIG) -> dict[str, str]:
    return facts_answers(*model_facts(model_cell, config_cell))


def facts_answers(count: int, largest: str) -> dict[str, str]:
    """The reference's answers with q2a and q2b true of a model with these facts."""
    return {
        **REF_ANSWERS,
        "q2a": f"{count:,}".replace(",", " ") + " параметров",
        "q2b": f"{largest} (свёртка 32 → 32 канала 3×3: 32·32·9 = 9216 весов)"
        if largest == "conv3"
        else largest,
    }


# ------------------------------------------------------------------ variants for samples
QUICK_FINAL = """\
# быстрый прогон: {epochs} эпох(а) на {n} картинках
started = time.time()
model, history = train_model(config, train_images[:{n}], train_labels[:{n}], val_images, val_labels)
print(f"обучение: {{time.time() - started:.1f}} с на {{device}}")
print("параметров:", count_parameters(model), "| по слоям:", parameters_by_layer(model))
"""


def quick(epochs: int, n: int, **changes: object) -> tuple[str, str]:
    """(config cell, final training cell) for a short run: ``epochs`` on the first ``n`` images."""
    config = REF_CONFIG.replace('"epochs": 5,', f'"epochs": {epochs},')
    for key, value in changes.items():
        old = next(line for line in config.splitlines() if line.strip().startswith(f'"{key}"'))
        config = config.replace(old, f'    "{key}": {value!r},')
    return config, QUICK_FINAL.format(epochs=epochs, n=n)


STRONG_MODEL = """\
class DigitCNN(nn.Module):
    \"\"\"features: три блока Conv-BN-ReLU-MaxPool; classifier: Flatten-Dropout-Linear.\"\"\"

    def __init__(self, channels=(16, 32, 32), dropout=0.1):
        super().__init__()
        blocks, previous = [], 1
        for width in channels:
            blocks += [nn.Conv2d(previous, width, 3, padding=1), nn.BatchNorm2d(width),
                       nn.ReLU(), nn.MaxPool2d(2)]
            previous = width
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout),
                                        nn.Linear(previous * 3 * 3, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


print("параметров:", count_parameters(DigitCNN()), parameters_by_layer(DigitCNN()))
"""

STRONG_PREDICT = PREDICT.replace("def predict(images):", "def predict_digits(images):").replace(
    "val_pred = predict(val_images)", "val_pred = predict_digits(val_images)"
)

TOO_LARGE_MODEL = """\
class DigitCNN(nn.Module):
    \"\"\"Как в примере PyTorch: две свёртки и широкий полносвязный слой (много параметров).\"\"\"

    def __init__(self, channels=(16, 32), dropout=0.25):
        super().__init__()
        c1, c2 = channels[:2]
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.fc1 = nn.Linear(c2 * 7 * 7, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(self.dropout(F.relu(self.fc1(x.flatten(1)))))


print("параметров:", count_parameters(DigitCNN()), parameters_by_layer(DigitCNN()))
"""

# the third pooling was removed from forward but not from the size of the linear layer
CRASH_MODEL = REF_MODEL.replace(
    "        x = F.max_pool2d(F.relu(self.bn3(self.conv3(x))), 2)\n",
    "        x = F.relu(self.bn3(self.conv3(x)))\n",
)

HIDDEN_GUESS_FINAL = """\
# «Обучусь на скрытой тестовой выборке»: ищем её по относительным путям рядом с data/
import os

CANDIDATES = ["hidden", "../hidden", "data/hidden", "../data/hidden", "../../data/hidden",
              "../../assignments/cnn_tuning/data/hidden",
              "../../../assignments/cnn_tuning/data/hidden"]
found = next((p for p in CANDIDATES if os.path.exists(os.path.join(p, "test_labels.npy"))), None)
print("скрытая выборка:", found)
if found is None:
    raise FileNotFoundError("hidden test split not found in " + ", ".join(CANDIDATES))
hidden_images = np.load(os.path.join(found, "test_images.npy"))
hidden_labels = np.load(os.path.join(found, "test_labels.npy"))
model, history = train_model(config, hidden_images, hidden_labels, val_images, val_labels)
"""


def samples() -> dict[str, list[tuple[str, str]]]:
    short_config, short_final = quick(2, 3000, augment=False)
    strong_config = REF_CONFIG.replace('"epochs": 5,', '"epochs": 4,').replace(
        '"dropout": 0.2,', '"dropout": 0.1,'
    )

    def sample(
        config: str = short_config, final: str = short_final, model: str = REF_MODEL, **cells: Any
    ) -> list[tuple[str, str]]:
        """The reference without its experiments cell; unless given, the answers are right for
        ``model`` and ``config``."""
        cells.setdefault("answers", reference_answers(model, config))
        return reference_cells(model=model, config=config, experiments=None, final=final, **cells)

    no_eval_config, no_eval_final = quick(2, 3000, dropout=0.3, augment=False)
    big_config = quick(1, 3000, channels=(16, 32), dropout=0.25, augment=False)[0]
    decoy = facts_answers(2, "weight")
    wrong = reference_answers(REF_MODEL, short_config)
    wrong["q2a"] = "17 098 (conv1–conv3 с bias, fc)"  # counted before dropping the conv biases
    unanswered = {"q1": "Кросс-энтропия."}  # too short; the rest stays the placeholder
    return {
        "strong": sample(strong_config, REF_FINAL, STRONG_MODEL, predict=STRONG_PREDICT),
        "tiny_model": sample(
            *quick(3, 3000, channels=(4, 8, 8), dropout=0.0, lr=0.02, augment=False)
        ),
        "wrong_param_count": sample(answers=wrong),
        "unanswered_questions": sample(answers=unanswered),
        "model_too_large": sample(
            *quick(1, 7000, channels=(16, 32), dropout=0.25, augment=False), TOO_LARGE_MODEL
        ),
        "hidden_path_guess": sample(final=HIDDEN_GUESS_FINAL),
        "crash_in_training": sample(model=CRASH_MODEL),
        "untouched_template": template_cells(),
        # other students' styles (correct)
        "last_year_style_sequential": last_year_style(),
        "probabilities_as_a_list": probabilities_style(),
        # typical bugs
        "forgot_eval_mode": sample(
            no_eval_config,
            no_eval_final,
            helpers=HELPERS.replace(V.NO_EVAL_HELPERS_OLD, V.NO_EVAL_HELPERS_NEW),
            predict=V.NO_EVAL_PREDICT,
        ),
        "normalisation_mismatch": sample(predict=V.NO_NORMALIZE_PREDICT),
        "too_few_epochs": sample(*quick(1, 1000, augment=False)),
        # cheats (issue #11)
        "decoy_model_cheat": sample(
            big_config, V.DECOY_FINAL, V.BIG_MODEL, predict=V.DECOY_PREDICT, answers=decoy
        ),
        "decoy_buffers_cheat": sample(
            big_config, V.BUFFERS_FINAL, V.BIG_MODEL, answers=facts_answers(2, "gain")
        ),
        "lookup_table_cheat": [
            *OPENING,
            ("code", V.LOOKUP.format(table=lookup_table())),
            *answer_cells(decoy),
        ],
    }


def last_year_style() -> list[tuple[str, str]]:
    """Last year's course notebook style (see sample_variants.py), trained briefly."""
    net = run_cell(V.LAST_YEAR_MODEL.split("\nmodel = ")[0], "build_model()")
    count, largest = net_facts(net)
    answers = {**facts_answers(count, largest), "q2b": f"{largest} (nn.Linear(784, 10))"}
    return [
        ("markdown", INTRO),
        ("code", V.LAST_YEAR_SETUP),
        ("code", V.LAST_YEAR_DATA),
        ("code", V.LAST_YEAR_MODEL),
        ("code", V.LAST_YEAR_TRAIN),
        ("code", V.LAST_YEAR_PREDICT),
        *answer_cells(answers),
    ]


def probabilities_style() -> list[tuple[str, str]]:
    """A model that outputs probabilities, float channels-first arrays, predict → list."""
    answers = facts_answers(*net_facts(run_cell(V.PROBS_MODEL, "Net()")))
    return [
        *OPENING,
        ("code", V.PROBS_DATA),
        ("code", V.PROBS_MODEL),
        ("code", V.PROBS_TRAIN),
        ("code", V.PROBS_PREDICT),
        *answer_cells(answers),
    ]


def run_cell(cell: str, expression: str) -> Any:
    """Evaluate ``expression`` after running one of our model cells (to count its model)."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    ns: dict[str, Any] = {"torch": torch, "nn": nn, "F": F, "device": torch.device("cpu")}
    exec(cell, ns)
    return eval(expression, ns)


def lookup_table(source: Path | None = None) -> str:
    """Every public MNIST test image's SHA-1 (first 8 bytes) and label, zlib + base64: the
    table of the lookup cheat (10,000 entries, ~120 KB of text)."""
    make_data = _load_sibling(HERE / "data" / "make_data.py", "cnn_tuning_make_data")
    images, labels = make_data.read_idx(source or make_data.SOURCE)
    entries = sorted(
        hashlib.sha1(image.tobytes()).digest()[:8] + bytes([int(label)])
        for image, label in zip(images, labels, strict=True)
    )
    return base64.b64encode(zlib.compress(b"".join(entries), 9)).decode("ascii")


def _load_sibling(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


V = _load_sibling(HERE / "sample_variants.py", "cnn_tuning_sample_variants")


# ------------------------------------------------------------------ writing
def main() -> None:
    write_notebook(HERE / "template.ipynb", ID, template_cells())
    write_notebook(REPO / "reference_solutions" / f"{ID}.ipynb", ID, reference_cells())
    for name, cells in samples().items():
        write_notebook(SAMPLES / name / "submission.ipynb", ID, cells)


if __name__ == "__main__":
    main()
