"""Train the tiny CLIP (template/tiny_clip.py) on drawn shapes and digits; deterministic.

    python assignments/detection_ui/tools/train_tiny_clip.py [--out FILE]

About a minute on one CPU core. Contrastive training as in CLIP, except that pictures of the
same concept in a batch count as matches of each other's captions (a batch of 22 concepts has
many repeats). Prints the zero-shot accuracy on fresh pictures at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "template")]

import shapes  # noqa: E402
import tiny_clip  # noqa: E402

SEED = 1234
STEPS = 600
BATCH = 128
POOL = 4000


def vocabulary() -> list[str]:
    words = {"", "<unk>"}
    for kind, value in shapes.concepts():
        for t in range(4):
            words.update(shapes.caption(kind, value, t).split())
    return ["", "<unk>", *sorted(words - {"", "<unk>"})]


def pictures(count: int, rng: np.random.Generator) -> tuple[torch.Tensor, np.ndarray]:
    """``count`` pictures (as the app would see them) and their concept indices."""
    concepts = shapes.concepts()
    labels = rng.integers(0, len(concepts), count)
    images = [tiny_clip.preprocess(shapes.draw(*concepts[i], rng)) for i in labels]
    return torch.stack(images), labels


def train(out: Path) -> None:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    rng = np.random.default_rng(SEED)
    vocab = vocabulary()
    model = tiny_clip.TinyCLIP(vocab)
    images, labels = pictures(POOL, rng)
    concepts = shapes.concepts()
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    for step in range(STEPS):
        pick = torch.from_numpy(rng.integers(0, POOL, BATCH))
        concept = torch.from_numpy(labels[pick.numpy()])
        texts = [shapes.caption(*concepts[int(c)], int(rng.integers(4))) for c in concept]
        img = F.normalize(model.encode_image(_augment(images[pick])), dim=-1)
        txt = F.normalize(model.encode_text(tiny_clip.tokenize(texts, vocab)), dim=-1)
        logits = model.logit_scale.clamp(max=np.log(100)).exp() * img @ txt.T
        same = (concept[:, None] == concept[None, :]).float()
        target = same / same.sum(1, keepdim=True)
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 300 == 0:
            print(f"step {step}: loss {loss.item():.3f}", flush=True)
    save(model, vocab, out)
    print(f"zero-shot accuracy on fresh pictures: {accuracy(model, vocab):.3f}")


def _augment(batch: torch.Tensor) -> torch.Tensor:
    """Brightness jitter (deterministic under the seed)."""
    return (batch * (0.8 + 0.4 * torch.rand(len(batch), 1, 1, 1))).clamp(0, 1)


@torch.no_grad()
def accuracy(model: tiny_clip.TinyCLIP, vocab: list[str], count: int = 400) -> float:
    model.eval()
    rng = np.random.default_rng(SEED + 1)
    images, labels = pictures(count, rng)
    prompts = [shapes.caption(*c) for c in shapes.concepts()]
    img = F.normalize(model.encode_image(images), dim=-1)
    txt = F.normalize(model.encode_text(tiny_clip.tokenize(prompts, vocab)), dim=-1)
    return float(((img @ txt.T).argmax(1).numpy() == labels).mean())


def save(model: tiny_clip.TinyCLIP, vocab: list[str], out: Path) -> None:
    from safetensors.torch import save_file

    out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out), metadata={"vocab": json.dumps(vocab), "seed": str(SEED)})
    out.chmod(0o644)
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = HERE.parent / "image" / "models" / "tiny_clip.safetensors"
    parser.add_argument("--out", type=Path, default=default)
    train(parser.parse_args().out)
