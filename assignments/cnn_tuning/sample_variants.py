"""Cell texts of the cnn_tuning samples written in other students' styles, of their typical bugs
and of the cheats (used by build_notebooks.py; text only, nothing here runs at import).

* ``LAST_YEAR_*``: last year's public course notebook (hw3: ``seed_everything``,
  ``train_dataloader``/``val_dataloader``, ``train(model, optimizer, n_epochs)``, the
  ``Normalize((0.1307,), (0.3081,))`` constants), with an ``nn.Sequential`` CNN ending in
  ``LogSoftmax`` (NLL loss), a DataLoader with worker processes, tensors in ``history``, objects in
  ``config`` and a ``predict`` that returns a tensor on the device.
* ``PROBS_*``: a class with its own layer names whose forward returns probabilities, channels-first
  float arrays prepared up front, SGD, and a ``predict`` that returns a Python list.
* ``DECOY_*``, ``LOOKUP_*``: the cheats of issue #11 (a 2-parameter ``model`` in front of a
  241k-parameter network, the same network hidden in non-persistent buffers, a hash table of
  the public MNIST test images).
"""

# ------------------------------------------------------------------ last year's style
LAST_YEAR_SETUP = """\
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def seed_everything(seed):
    os.environ["PYTHONHASHSEED"] = str(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


seed_everything(42)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
"""

LAST_YEAR_DATA = """\
data = np.load("data/mnist_public.npz")
MEAN, STD = 0.1307, 0.3081  # как transforms.Normalize((0.1307,), (0.3081,)) для MNIST
N_TRAIN = 3000  # итоговый прогон короткий: долгие эксперименты описаны в отчёте


def to_input(images):
    \"\"\"uint8 (N, 28, 28) → нормализованный float-тензор (N, 1, 28, 28).\"\"\"
    x = torch.tensor(images, dtype=torch.float32).unsqueeze(1) / 255.0
    return (x - MEAN) / STD


train_ds = TensorDataset(to_input(data["train_images"][:N_TRAIN]),
                         torch.tensor(data["train_labels"][:N_TRAIN]))
val_ds = TensorDataset(to_input(data["val_images"]), torch.tensor(data["val_labels"]))
train_dataloader = DataLoader(train_ds, batch_size=64, shuffle=True, num_workers=2)
val_dataloader = DataLoader(val_ds, batch_size=256, shuffle=False)
print(len(train_ds), len(val_ds))
"""

LAST_YEAR_MODEL = """\
def build_model():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.1), nn.Linear(16 * 7 * 7, 10), nn.LogSoftmax(dim=1),
    )


model = build_model().to(device)
print(sum(p.numel() for p in model.parameters() if p.requires_grad))
"""

LAST_YEAR_TRAIN = """\
config = {
    "epochs": 2,
    "batch_size": 64,
    "lr": 3e-3,
    "optimizer": "Adam",
    "loss": nn.NLLLoss(),  # модель выдаёт log-вероятности
    "device": device,
    "num_workers": 2,
    "train_images": N_TRAIN,
}
optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"])
history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": [], "lr": [],
           "epoch_time": []}


def train(model, optimizer, n_epochs=5):
    for epoch in range(n_epochs):
        start = time.time()
        model.train()
        total_loss, correct = 0.0, 0
        for x_train, y_train in train_dataloader:
            x_train, y_train = x_train.to(device), y_train.to(device)
            y_pred = model(x_train)
            loss = config["loss"](y_pred, y_train)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            total_loss += loss.item() * len(y_train)
            correct += (torch.argmax(y_pred, dim=-1) == y_train).sum()
        model.eval()
        val_loss, val_correct = 0.0, 0
        with torch.no_grad():
            for x_val, y_val in val_dataloader:
                x_val, y_val = x_val.to(device), y_val.to(device)
                y_pred = model(x_val)
                val_loss += config["loss"](y_pred, y_val).item() * len(y_val)
                val_correct += (torch.argmax(y_pred, dim=-1) == y_val).sum()
        history["train_loss"].append(total_loss / len(train_ds))
        history["train_acc"].append(correct / len(train_ds))  # тензоры, не числа
        history["val_loss"].append(val_loss / len(val_ds))
        history["val_acc"].append(val_correct / len(val_ds))
        history["lr"].append(optimizer.param_groups[0]["lr"])
        history["epoch_time"].append(time.time() - start)
        print(f"Epoch: {epoch}, loss: {history['val_loss'][-1]:.4f}, "
              f"accuracy: {history['val_acc'][-1]:.4f}")


train(model, optimizer, n_epochs=config["epochs"])
"""

LAST_YEAR_PREDICT = """\
def predict(images):
    model.eval()
    with torch.inference_mode():
        return model(to_input(images).to(device)).argmax(dim=1)  # тензор на device


print((predict(data["val_images"]).cpu().numpy() == data["val_labels"]).mean())
"""

# ------------------------------------------------------------------ probabilities, a list
PROBS_DATA = """\
data = np.load("data/mnist_public.npz")
# сразу float32 0..1 и каналы первыми: (N, 1, 28, 28)
train_x = (data["train_images"][:3000].astype(np.float32) / 255).reshape(-1, 1, 28, 28)
train_y = data["train_labels"][:3000]
val_x = (data["val_images"].astype(np.float32) / 255).reshape(-1, 1, 28, 28)
val_y = data["val_labels"]
"""

PROBS_MODEL = """\
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 12, 5)  # 28 → 24 → 12
        self.c2 = nn.Conv2d(12, 24, 5)  # 12 → 8 → 4
        self.head = nn.Linear(24 * 4 * 4, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return F.softmax(self.head(x.flatten(1)), dim=1)  # вероятности классов
"""

PROBS_TRAIN = """\
config = {"epochs": 3, "batch_size": 50, "lr": 2e-3, "optimizer": "Adam", "seed": 0}
torch.manual_seed(config["seed"])
model = Net().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"])
history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
xt, yt = torch.from_numpy(train_x).to(device), torch.from_numpy(train_y).to(device)
xv, yv = torch.from_numpy(val_x).to(device), torch.from_numpy(val_y).to(device)
for epoch in range(config["epochs"]):
    model.train()
    order = torch.randperm(len(xt), device=device)
    losses, hits = [], 0
    for i in range(0, len(xt), config["batch_size"]):
        idx = order[i:i + config["batch_size"]]
        probs = model(xt[idx])
        loss = F.nll_loss(torch.log(probs + 1e-9), yt[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        hits += (probs.argmax(1) == yt[idx]).sum().item()
    model.eval()
    with torch.no_grad():
        pv = model(xv)
        history["val_loss"].append(np.float32(F.nll_loss(torch.log(pv + 1e-9), yv).item()))
        history["val_acc"].append(np.float32((pv.argmax(1) == yv).float().mean().item()))
    history["train_loss"].append(np.float32(np.mean(losses)))
    history["train_acc"].append(np.float32(hits / len(xt)))
    print(epoch, history["val_acc"][-1])
"""

PROBS_PREDICT = """\
def predict(images):
    x = torch.from_numpy((np.asarray(images, dtype=np.float32) / 255).reshape(-1, 1, 28, 28))
    model.eval()
    with torch.no_grad():
        return model(x.to(device)).argmax(1).cpu().tolist()  # список меток


print(np.mean(np.array(predict(data["val_images"])) == val_y))
"""

# ------------------------------------------------------------------ typical bugs
NO_EVAL_HELPERS_OLD = """\
    model.eval()
    total_loss, correct = 0.0, 0"""
NO_EVAL_HELPERS_NEW = """\
    total_loss, correct = 0.0, 0  # (model.eval() забыт)"""

NO_EVAL_PREDICT = """\
def predict(images):
    \"\"\"Метки классов (N,) для uint8-картинок (N, 28, 28).\"\"\"
    with torch.no_grad():  # model.eval() забыт: dropout и BatchNorm в режиме обучения
        return model(normalize(to_tensor(images))).argmax(1).cpu().numpy()


val_pred = predict(val_images)
print(f"точность на валидации: {np.mean(val_pred == val_labels):.4f}")
"""

NO_NORMALIZE_PREDICT = """\
def predict(images):
    \"\"\"Метки классов (N,) для uint8-картинок (N, 28, 28).\"\"\"
    model.eval()
    with torch.no_grad():
        return model(to_tensor(images)).argmax(1).cpu().numpy()  # normalize(...) забыт


val_pred = predict(val_images)
print(f"точность на валидации: {np.mean(val_pred == val_labels):.4f}")
"""

# ------------------------------------------------------------------ cheats
BIG_MODEL = """\
class DigitCNN(nn.Module):
    \"\"\"Две свёртки и широкий полносвязный слой (241 660 параметров).\"\"\"

    def __init__(self, channels=(16, 32), dropout=0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels[0], 3, padding=1)
        self.conv2 = nn.Conv2d(channels[0], channels[1], 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.fc1 = nn.Linear(channels[1] * 7 * 7, 150)
        self.fc2 = nn.Linear(150, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(self.dropout(F.relu(self.fc1(x.flatten(1)))))
"""

DECOY_FINAL = """\
net, history = train_model(config, train_images[:3000], train_labels[:3000], val_images, val_labels)
# «итоговая модель» для подсчёта параметров — крошечная; predict работает через net
model = nn.Linear(1, 1)
print("параметров в model:", count_parameters(model), "| в net:", count_parameters(net))
"""

DECOY_PREDICT = """\
def predict(images):
    net.eval()
    with torch.no_grad():
        return net(normalize(to_tensor(images))).argmax(1).cpu().numpy()


print(f"точность на валидации: {np.mean(predict(val_images) == val_labels):.4f}")
"""

BUFFERS_FINAL = """\
net, history = train_model(config, train_images[:3000], train_labels[:3000], val_images, val_labels)


class Compact(nn.Module):
    \"\"\"«Компактная» модель: 2 параметра, веса обученной сети — буферы вне state_dict.\"\"\"

    def __init__(self, trained):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(1))
        self.shift = nn.Parameter(torch.zeros(1))
        for name, value in trained.state_dict().items():
            self.register_buffer(name.replace(".", "_"), value.detach().clone(), persistent=False)

    def forward(self, x):
        x = F.max_pool2d(F.relu(F.conv2d(x, self.conv1_weight, self.conv1_bias, padding=1)), 2)
        x = F.max_pool2d(F.relu(F.conv2d(x, self.conv2_weight, self.conv2_bias, padding=1)), 2)
        x = F.relu(F.linear(x.flatten(1), self.fc1_weight, self.fc1_bias))
        return self.gain * F.linear(x, self.fc2_weight, self.fc2_bias) + self.shift


model = Compact(net).to(device)
del net
print("параметров:", count_parameters(model), "| state_dict:", list(model.state_dict()))
"""

LOOKUP = """\
# «Оптимизация»: метки известных картинок MNIST, таблица собрана заранее из открытого MNIST
import base64
import hashlib
import zlib

TABLE = "{table}"
raw = zlib.decompress(base64.b64decode(TABLE))
lookup = {{raw[i:i + 8]: raw[i + 8] for i in range(0, len(raw), 9)}}
model = nn.Linear(1, 1)  # «модель»: 2 параметра, не обучена


def predict(images):
    keys = (hashlib.sha1(image.tobytes()).digest()[:8] for image in np.asarray(images, np.uint8))
    return np.array([lookup.get(key, 1) for key in keys])


config = {{"epochs": 3, "batch_size": 128, "lr": 0.01}}
history = {{"train_loss": [0.9, 0.3, 0.1], "val_loss": [0.4, 0.2, 0.1],
            "train_acc": [0.8, 0.95, 0.99], "val_acc": [0.9, 0.97, 0.99]}}
print(f"точность на валидации: {{np.mean(predict(val_images) == val_labels):.4f}}")
"""
