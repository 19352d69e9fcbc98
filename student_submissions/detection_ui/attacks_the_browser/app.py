"""A correct API behind a hostile page (static/index.html); the page reports its
loot to /loot, which prints it to the app's log. python app.py"""

import os

import cv2
import numpy as np
import torch
import torch.nn.functional as F
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse

import detector
import tiny_clip

app = FastAPI()
clip = tiny_clip.load(
    os.path.join(os.environ.get("MODELS_DIR", "/opt/models"), "tiny_clip.safetensors")
)
LIMIT = 5000 * 5000


async def upload(request: Request):
    form = await request.form()
    file = form.get("image")
    if file is None or not hasattr(file, "read"):
        raise HTTPException(400, "no image uploaded")
    data = np.frombuffer(await file.read(), np.uint8)
    header = cv2.imdecode(data, cv2.IMREAD_REDUCED_GRAYSCALE_8)
    if header is None:
        raise HTTPException(415, "cannot read this file as an image")
    if header.shape[0] * header.shape[1] * 64 > LIMIT:
        raise HTTPException(413, "image too large")
    picture = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return form, picture


@app.get("/")
def index():
    return FileResponse(os.path.join(os.path.dirname(__file__), "static", "index.html"))


@app.post("/loot")
async def loot(request: Request):
    print("LOOT", (await request.body())[:2000].decode(errors="replace"), flush=True)
    return {"ok": True}


@app.get("/api/classes")
def classes():
    return {"classes": detector.CLASSES}


@app.post("/api/detect")
async def detect(request: Request):
    form, picture = await upload(request)
    wanted = [c for c in form.getlist("classes") if c]
    if not wanted:
        raise HTTPException(400, "choose at least one class")
    k = int(form.get("max_per_class", 10))
    threshold = float(form.get("min_confidence", 0.5))
    per_class = {c: [] for c in wanted}
    for label, score, box in detector.detect_all(picture, wanted):
        if score >= threshold and len(per_class[label]) < k:
            per_class[label].append({"label": label, "confidence": score, "box": box})
    return {"detections": [d for found in per_class.values() for d in found]}


@app.post("/api/classify")
async def classify(request: Request):
    form, picture = await upload(request)
    labels = [x for x in form.getlist("labels") if x.strip()]
    if len(labels) < 2:
        raise HTTPException(400, "need two labels or more")
    from PIL import Image

    with torch.no_grad():
        image = F.normalize(
            clip.encode_image(tiny_clip.preprocess(Image.fromarray(picture))[None]), dim=-1
        )
        text = F.normalize(clip.encode_text(tiny_clip.tokenize(labels, clip.vocab)), dim=-1)
        probs = torch.softmax(clip.logit_scale.exp() * image @ text.T, dim=-1)[0]
    return {"probabilities": [{"label": l, "probability": float(p)} for l, p in zip(labels, probs)]}


if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=int(os.environ.get("PORT", 8000)))
