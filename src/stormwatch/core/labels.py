"""What a classifier's output means: tasks, their classes, and hard labels from probabilities.

A multi-task classifier returns one row per post: the class probabilities of every task,
side by side. The `Layout` says which columns belong to which task, so probabilities can be
stored once and turned into labels, shares or prevalences later without re-classifying.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class Task:
    """A classification task. `decision` weights turn probabilities into hard labels:
    label = argmax(p * decision). None is plain argmax; 1/prior is the balanced decision
    that maximises macro-averaged recall, which calibrated probabilities alone do not."""

    name: str
    classes: tuple[str, ...]
    decision: tuple[float, ...] | None = None

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2

    @property
    def labels(self) -> tuple[str, ...]:
        """The hard-label names this task contributes: its positive class if binary
        (`offensive`), every class otherwise (`negative`, `neutral`, `positive`)."""
        return (self.classes[1],) if self.binary else self.classes


@dataclass(frozen=True, slots=True)
class Layout:
    tasks: tuple[Task, ...]

    def __post_init__(self) -> None:
        labels = [label for task in self.tasks for label in task.labels]
        if len(set(labels)) != len(labels):
            raise ValueError(f"label names must be unique across tasks: {labels}")

    @property
    def width(self) -> int:
        return sum(len(t.classes) for t in self.tasks)

    def slices(self) -> dict[str, slice]:
        out, start = {}, 0
        for task in self.tasks:
            out[task.name] = slice(start, start + len(task.classes))
            start += len(task.classes)
        return out

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(label for task in self.tasks for label in task.labels)

    def to_json(self) -> dict[str, Any]:
        return {
            "tasks": [
                {"name": t.name, "classes": list(t.classes)}
                | ({"decision": list(t.decision)} if t.decision is not None else {})
                for t in self.tasks
            ]
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Layout:
        return cls(
            tuple(
                Task(
                    t["name"],
                    tuple(t["classes"]),
                    tuple(t["decision"]) if t.get("decision") is not None else None,
                )
                for t in data["tasks"]
            )
        )


class Classifier(Protocol):
    """Anything that turns a batch of texts into class probabilities for every task."""

    name: str
    version: str
    layout: Layout

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), layout.width) float32; each task's block sums to 1."""
        ...


def decide(part: np.ndarray, task: Task) -> np.ndarray:
    """Each row's class index under the task's decision rule (ties go to the first class)."""
    if task.decision is not None:
        part = part * np.asarray(task.decision, dtype=part.dtype)
    return part.argmax(axis=1)


def hard_labels(proba: np.ndarray, layout: Layout) -> dict[str, np.ndarray]:
    """label -> boolean array, by each task's decision rule."""
    out: dict[str, np.ndarray] = {}
    for task, block in zip(layout.tasks, layout.slices().values(), strict=True):
        winner = decide(proba[:, block], task)
        for index, name in enumerate(task.classes):
            if name in task.labels:
                out[name] = winner == index
    return out


def shares(proba: np.ndarray, layout: Layout) -> dict[str, float]:
    """Share of posts carrying each hard label (classify-and-count, uncorrected)."""
    if len(proba) == 0:
        return {label: 0.0 for label in layout.labels}
    return {label: float(flags.mean()) for label, flags in hard_labels(proba, layout).items()}


def labels_record(row: np.ndarray, layout: Layout) -> dict[str, Any]:
    """One post's probabilities as the export shape: binary task -> P(positive class),
    multi-class task -> {class: probability}."""
    record: dict[str, Any] = {}
    for task, block in zip(layout.tasks, layout.slices().values(), strict=True):
        values = row[block]
        if task.binary:
            record[task.name] = round(float(values[1]), 4)
        else:
            record[task.name] = {
                c: round(float(v), 4) for c, v in zip(task.classes, values, strict=True)
            }
    return record
