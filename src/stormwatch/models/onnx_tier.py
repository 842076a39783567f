"""The accurate tier at inference: the fine-tuned MiniLM encoder and its task heads as one
ONNX graph, run with onnxruntime; tokenised with `tokenizers`. No PyTorch."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stormwatch.core.normalize import normalize_all
from stormwatch.models.tier import CalibratedTier


class OnnxTier(CalibratedTier):
    """A `Classifier` read from an artifact directory: config.json, model.onnx,
    tokenizer.json."""

    def __init__(self, folder: Path, model_file: str | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        super().__init__(folder)
        self.max_length = int(self.config["max_length"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(folder / (model_file or self.config["model_file"])),
            options,
            providers=["CPUExecutionProvider"],
        )

    def logits(self, texts: Sequence[str], batch: int = 64) -> np.ndarray:
        """Raw head outputs; posts of similar length are batched together (less padding)."""
        encodings = self.tokenizer.encode_batch(normalize_all(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(lengths, kind="stable")
        out = np.zeros((len(texts), self.layout.width), dtype=np.float32)
        for start in range(0, len(order), batch):
            picked = order[start : start + batch]
            width = int(lengths[picked].max())
            ids = np.zeros((len(picked), width), dtype=np.int64)
            mask = np.zeros((len(picked), width), dtype=np.int64)
            for row, index in enumerate(picked):
                tokens = encodings[index].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            out[picked] = self.session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[
                0
            ]
        return out
