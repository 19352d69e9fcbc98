"""Detection and zero-shot classification in the browser (reference solution).

Gradio UI at /, JSON API at /api/... (FastAPI, the same functions). Start: python app.py
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
from fastapi.responses import JSONResponse
from PIL import Image, ImageDraw, UnidentifiedImageError

MAX_PIXELS = 25_000_000
MODELS_DIR = os.environ.get("MODELS_DIR", "/opt/models")


class BadInput(ValueError):
    """A request the app answers with an error message (HTTP 400/413)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# ------------------------------------------------------------------ detection
def read_image(data: bytes) -> np.ndarray:
    """RGB uint8 array; refuses non-images and images over MAX_PIXELS before decoding them."""
    try:
        image = Image.open(data)
    except UnidentifiedImageError:
        raise BadInput("the file is not an image (PNG or JPEG expected)", 415) from None
    if image.width * image.height > MAX_PIXELS:
        raise BadInput(f"the image has {image.width}x{image.height} pixels; at most 25 MP", 413)
    return np.asarray(image.convert("RGB"))


def detect(image: np.ndarray, classes: list[str], max_per_class: int, min_confidence: float):
    """Detections of the chosen classes: at most max_per_class each, confidence >= min."""
    unknown = sorted(set(classes) - set(detector.CLASSES))
    if not classes or unknown:
        raise BadInput("choose at least one class" if not classes else f"unknown class {unknown}")
    if max_per_class < 1 or not 0 <= min_confidence <= 1:
        raise BadInput("max_per_class must be >= 1 and min_confidence in [0, 1]")
    kept, count = [], dict.fromkeys(classes, 0)
    for label, score, box in detector.detect_all(image, classes):
        if score >= min_confidence and count[label] < max_per_class:
            count[label] += 1
            kept.append({"label": label, "confidence": score, "box": list(box)})
    return kept


def draw(image: np.ndarray, detections: list[dict]) -> Image.Image:
    picture = Image.fromarray(image)
    pen = ImageDraw.Draw(picture)
    for d in detections:
        pen.rectangle(d["box"], outline=(255, 40, 40), width=3)
        pen.text((d["box"][0] + 4, d["box"][1] + 2), f"{d['label']} {d['confidence']:.2f}")
    return picture


# ------------------------------------------------------------------ zero-shot
def load_clip():
    """open_clip when the image has one (OPEN_CLIP_MODEL, OPEN_CLIP_WEIGHTS), else tiny CLIP."""
    name = os.environ.get("OPEN_CLIP_MODEL")
    if name:
        import open_clip

        model, _, preprocess = open_clip.create_model_and_transforms(
            name, pretrained=os.environ["OPEN_CLIP_WEIGHTS"]
        )
        return model.eval(), preprocess, open_clip.get_tokenizer(name)
    model = tiny_clip.load(os.path.join(MODELS_DIR, "tiny_clip.safetensors"))
    return model, tiny_clip.preprocess, lambda texts: tiny_clip.tokenize(texts, model.vocab)


CLIP, PREPROCESS, TOKENIZE = load_clip()


@torch.no_grad()
def classify(image: np.ndarray, labels: list[str]) -> list[dict]:
    labels = [label.strip() for label in labels if label.strip()]
    if len(labels) < 2:
        raise BadInput("give at least two labels")
    image_features = CLIP.encode_image(PREPROCESS(Image.fromarray(image))[None])
    text_features = CLIP.encode_text(TOKENIZE(labels))
    image_features = image_features / image_features.norm(dim=-1, keepdim=True)
    text_features = text_features / text_features.norm(dim=-1, keepdim=True)
    logits = CLIP.logit_scale.exp() * image_features @ text_features.T
    probs = logits.softmax(dim=-1)[0].tolist()
    return [{"label": label, "probability": p} for label, p in zip(labels, probs, strict=True)]


# ------------------------------------------------------------------ HTTP API
api = FastAPI(title="Detection and zero-shot classification")


@api.exception_handler(BadInput)
def _bad_input(_request, exc: BadInput) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=exc.status)


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
    found = detect(pixels, classes or [], max_per_class, min_confidence)
    return {"detections": found, "width": pixels.shape[1], "height": pixels.shape[0]}


@api.post("/api/classify")
async def api_classify(
    image: Annotated[UploadFile, File()], labels: Annotated[list[str] | None, Form()] = None
) -> dict:
    return {"probabilities": classify(read_image(await image.read()), labels or [])}


# ------------------------------------------------------------------ UI
def ui_detect(image, classes, max_per_class, min_confidence):
    if image is None:
        raise gr.Error("upload an image first")
    try:
        found = detect(image, classes or [], int(max_per_class), float(min_confidence))
    except BadInput as exc:
        raise gr.Error(str(exc)) from None
    rows = [[d["label"], round(d["confidence"], 3), *d["box"]] for d in found]
    return draw(image, found), rows


def ui_classify(image, text):
    if image is None:
        raise gr.Error("upload an image first")
    try:
        result = classify(image, text.splitlines())
    except BadInput as exc:
        raise gr.Error(str(exc)) from None
    return {r["label"]: r["probability"] for r in result}


with gr.Blocks(title="Детектор и zero-shot классификация") as demo:
    gr.Markdown("## Детектор объектов и zero-shot классификация")
    with gr.Tab("Детекция"):
        with gr.Row():
            source = gr.Image(label="Изображение", type="numpy")
            result = gr.Image(label="Найденные объекты", type="pil")
        classes = gr.CheckboxGroup(detector.CLASSES, value=["face"], label="Классы")
        max_per_class = gr.Slider(1, 20, value=5, step=1, label="Не больше объектов на класс")
        min_confidence = gr.Slider(0, 1, value=0.5, step=0.05, label="Минимальная уверенность")
        button = gr.Button("Detect / Найти", variant="primary")
        table = gr.Dataframe(
            headers=["class", "confidence", "x1", "y1", "x2", "y2"], label="Объекты"
        )
        button.click(ui_detect, [source, classes, max_per_class, min_confidence], [result, table])
    with gr.Tab("Zero-shot"):
        clip_image = gr.Image(label="Изображение", type="numpy")
        labels = gr.Textbox(label="Подписи, по одной в строке", lines=4)
        clip_button = gr.Button("Classify / Классифицировать")
        probabilities = gr.Label(label="Вероятности")
        clip_button.click(ui_classify, [clip_image, labels], probabilities)

app = gr.mount_gradio_app(api, demo, path="/")

if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=int(os.environ.get("PORT", "7860")))
