"""Детектор и zero-shot классификация в браузере — каркас. Запуск: python app.py

Gradio-интерфейс на /, JSON API на /api/... (FastAPI). Контракт API — в README.md задания.
Заполните места с TODO; detector.py и tiny_clip.py не меняйте.
"""

from __future__ import annotations

import io
import os
from typing import Annotated

import detector
import gradio as gr
import numpy as np
import tiny_clip
import torch
import uvicorn
from fastapi import FastAPI, File, Form, UploadFile
from PIL import Image

MODELS_DIR = os.environ.get("MODELS_DIR", "/opt/models")


def read_image(data: bytes) -> np.ndarray:
    """Загруженный файл → RGB-массив uint8. TODO: не картинка или > 25 Мп → ошибка 4xx."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def detect(image: np.ndarray, classes: list[str], max_per_class: int, min_confidence: float):
    """TODO: только классы из classes, не больше max_per_class лучших на класс,
    confidence >= min_confidence. detector.detect_all(image, classes) даёт всех кандидатов:
    [(label, confidence, (x1, y1, x2, y2)), ...]. Ответ: [{"label", "confidence", "box"}]."""
    raise NotImplementedError


CLIP = tiny_clip.load(os.path.join(MODELS_DIR, "tiny_clip.safetensors"))


@torch.no_grad()
def classify(image: np.ndarray, labels: list[str]) -> list[dict]:
    """TODO: zero-shot как в CLIP: CLIP.encode_image(tiny_clip.preprocess(...)[None]),
    CLIP.encode_text(tiny_clip.tokenize(labels, CLIP.vocab)), нормировка, logit_scale, softmax.
    Ответ: [{"label": ..., "probability": ...}, ...]."""
    raise NotImplementedError


api = FastAPI()


@api.get("/api/classes")
def api_classes() -> dict:
    return {"classes": detector.CLASSES}


@api.post("/api/detect")
async def api_detect(
    image: Annotated[UploadFile, File()],
    classes: Annotated[list[str] | None, Form()] = None,
    max_per_class: Annotated[int, Form()] = 10,
    min_confidence: Annotated[float, Form()] = 0.5,
) -> dict:
    pixels = read_image(await image.read())
    return {"detections": detect(pixels, classes or [], max_per_class, min_confidence)}


@api.post("/api/classify")
async def api_classify(
    image: Annotated[UploadFile, File()], labels: Annotated[list[str] | None, Form()] = None
) -> dict:
    return {"probabilities": classify(read_image(await image.read()), labels or [])}


def ui_detect(image, classes, max_per_class, min_confidence):
    """TODO: картинка с рамками и строки таблицы [класс, уверенность, x1, y1, x2, y2]."""
    raise gr.Error("ещё не сделано")


with gr.Blocks(title="Детектор") as demo:
    gr.Markdown("## Детектор объектов")
    source = gr.Image(label="Изображение", type="numpy")
    # TODO: выбор классов (gr.CheckboxGroup(detector.CLASSES, ...)), k на класс, порог,
    # кнопка «Detect / Найти», картинка с рамками, таблица; вкладка zero-shot.

app = gr.mount_gradio_app(api, demo, path="/")

if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=int(os.environ.get("PORT", "7860")))
