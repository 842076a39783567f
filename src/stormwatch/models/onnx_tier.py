"""The accurate tier at inference: the fine-tuned MiniLM encoder and its task heads as one
ONNX graph, run with onnxruntime; tokenised with `tokenizers`. No PyTorch."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stormwatch.core.calibration import apply_scaling
from stormwatch.core.labels import Layout, Task
from stormwatch.core.normalize import normalize_all
from stormwatch.models.artifact import read_config


class OnnxTier:
    """A `Classifier` read from an artifact directory: config.json, model.onnx,
    tokenizer.json."""

    def __init__(self, folder: Path, model_file: str | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = folder
        self.config = read_config(folder)
        self.name = self.config["name"]
        self.version = self.config["version"]
        self.layout = Layout(
            tuple(
                Task(
                    t["name"],
                    tuple(t["classes"]),
                    tuple(t["decision"]) if t.get("decision") else None,
                )
                for t in self.config["tasks"]
            )
        )
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
        self._scaling = [
            (
                float(t.get("temperature", 1.0)),
                np.asarray(t.get("calibration_bias", [0.0] * len(t["classes"]))),
            )
            for t in self.config["tasks"]
        ]

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

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        out = np.zeros_like(logits, dtype=np.float32)
        for (temperature, bias), block in zip(
            self._scaling, self.layout.slices().values(), strict=True
        ):
            out[:, block] = apply_scaling(logits[:, block], temperature, bias)
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.layout.width), dtype=np.float32)
        return self.calibrate(self.logits(texts))
