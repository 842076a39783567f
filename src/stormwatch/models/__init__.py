"""Model artifacts and the classifier tiers Stormwatch ships."""

from __future__ import annotations

from pathlib import Path

from stormwatch.core.labels import Classifier

TIERS = ("fast", "accurate", "baseline")
ARTIFACTS = Path(__file__).resolve().parent


def artifact_dir(tier: str) -> Path:
    """Where a trained tier's artifact lives inside the package."""
    return ARTIFACTS / tier


def load_classifier(tier: str = "fast") -> Classifier:
    """The classifier of a tier, ready to use; says which tiers exist when asked for another."""
    if tier == "baseline":
        from stormwatch.models.baseline import BaselineClassifier

        return BaselineClassifier()
    if tier == "fast":
        from stormwatch.models.linear import LinearTier

        return LinearTier(artifact_dir(tier))
    if tier == "accurate":
        from stormwatch.models.onnx_tier import OnnxTier

        return OnnxTier(artifact_dir(tier))
    raise ValueError(f"unknown classifier tier {tier!r}; available: {', '.join(TIERS)}")


def available_tiers() -> tuple[str, ...]:
    """Tiers that can be loaded here: the baseline, and trained tiers whose artifact exists."""
    return tuple(t for t in TIERS if t == "baseline" or (artifact_dir(t) / "config.json").is_file())


def installed_config(name: str, version: str) -> dict | None:
    """The installed artifact's config, if it is that very version of that tier."""
    from stormwatch.models.artifact import read_config

    folder = artifact_dir(name)
    if name not in TIERS or not (folder / "config.json").is_file():
        return None
    config = read_config(folder)
    return config if config.get("version") == version else None


def reference_for(name: str, version: str) -> tuple[dict | None, dict[str, str]]:
    """The validation predictions (and per-label default methods) shipped with the model
    that scored a store — only if the installed artifact is that very version."""
    from stormwatch.models.artifact import read_npz

    config = installed_config(name, version)
    folder = artifact_dir(name)
    if config is None or not (folder / "validation.npz").is_file():
        return None, {}
    return read_npz(folder / "validation.npz"), dict(config.get("quantification", {}))


def interval_evidence(name: str, version: str) -> dict[str, dict]:
    """Per label, what `eval quantify --save` measured for the default method of that very
    model version: {method, mae, coverage, n} on test samples from other years."""
    config = installed_config(name, version)
    return dict(config.get("quantification_evidence", {})) if config else {}
