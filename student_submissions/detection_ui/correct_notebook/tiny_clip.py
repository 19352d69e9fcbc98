"""A small CLIP: an image encoder and a text encoder trained together so that an image and a
caption that describes it have similar embeddings (Radford et al., 2021, in miniature).

The course's weights (``tiny_clip.safetensors``, trained by tools/train_tiny_clip.py on
drawn shapes, colours and digits) are in the runtime image, in ``$MODELS_DIR``. The API is
that of open_clip, so the same app code works with a real CLIP baked into the image:

    model = load(path)
    image_features = model.encode_image(preprocess(pil_image)[None])
    text_features = model.encode_text(tokenize(["a red circle", "a blue square"]))
    # normalise both, multiply by model.logit_scale.exp(), softmax over the captions
"""

from __future__ import annotations

import json
import re

import numpy as np
import torch
from torch import nn

IMAGE_SIZE = 32
CONTEXT = 8
WIDTH = 64


class TinyCLIP(nn.Module):
    def __init__(self, vocab: list[str]) -> None:
        super().__init__()
        self.vocab = vocab
        self.visual = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
            nn.Flatten(), nn.Linear(256, WIDTH),
        )  # fmt: skip
        self.token_embedding = nn.Embedding(len(vocab), WIDTH)
        self.positional_embedding = nn.Parameter(torch.zeros(CONTEXT, WIDTH))
        self.transformer = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(WIDTH, 4, 128, dropout=0.0, batch_first=True),
            1,
            enable_nested_tensor=False,
        )
        self.text_projection = nn.Linear(WIDTH, WIDTH)
        self.logit_scale = nn.Parameter(torch.tensor(float(np.log(1 / 0.07))))

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, 32, 32) floats in [0, 1] -> (N, 64) features (not normalised)."""
        return self.visual(images)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """(N, 8) token ids (0 = padding) -> (N, 64) features (not normalised)."""
        pad = tokens == 0
        x = self.token_embedding(tokens) + self.positional_embedding
        x = self.transformer(x, src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).float()
        return self.text_projection((x * keep).sum(1) / keep.sum(1).clamp(min=1))


def tokenize(texts: list[str], vocab: list[str]) -> torch.Tensor:
    """Lower-case words -> ids (unknown words -> 1, padding 0), cut to the context length."""
    index = {word: i for i, word in enumerate(vocab)}
    rows = []
    for text in texts:
        ids = [index.get(w, 1) for w in re.findall(r"[a-z0-9]+", text.lower())][:CONTEXT]
        rows.append(ids + [0] * (CONTEXT - len(ids)))
    return torch.tensor(rows, dtype=torch.long)


def preprocess(image: object) -> torch.Tensor:
    """A PIL image -> (3, 32, 32) floats in [0, 1]."""
    from PIL import Image

    assert isinstance(image, Image.Image)
    small = image.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)
    return torch.from_numpy(np.asarray(small, dtype=np.float32) / 255.0).permute(2, 0, 1)


def load(path: str) -> TinyCLIP:
    """The model from a safetensors file (weights + vocabulary in its metadata)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(path, framework="pt") as file:
        vocab = json.loads(file.metadata()["vocab"])
    model = TinyCLIP(vocab)
    model.load_state_dict(load_file(path))
    return model.eval()
