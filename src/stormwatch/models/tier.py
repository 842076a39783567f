"""What every trained tier shares: its artifact's config, the label layout with each task's
decision rule, and per-task calibration of raw logits."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stormwatch.core.calibration import Calibration
from stormwatch.core.labels import Layout, Task
from stormwatch.models.artifact import read_config


class CalibratedTier:
    """Base of LinearTier and OnnxTier: subclasses provide `logits(texts)`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.config = read_config(folder)
        self.name: str = self.config["name"]
        self.version: str = self.config["version"]
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
        self._calibration = [Calibration.from_config(t) for t in self.config["tasks"]]

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def calibrate(self, logits: np.ndarray, tasks: Sequence[str] | None = None) -> np.ndarray:
        """Calibrated probabilities of every task (or only `tasks`; the rest stay 0)."""
        out = np.zeros_like(logits, dtype=np.float32)
        for calibration, (task, block) in zip(
            self._calibration, self.layout.slices().items(), strict=True
        ):
            if tasks is None or task in tasks:
                out[:, block] = calibration.apply(logits[:, block])
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.layout.width), dtype=np.float32)
        return self.calibrate(self.logits(texts))
