"""Model artifacts and the classifier tiers Stormwatch ships."""

from __future__ import annotations

from stormwatch.core.labels import Classifier

TIERS = ("baseline",)


def load_classifier(tier: str = "baseline") -> Classifier:
    """The classifier of a tier, ready to use; says which tiers exist when asked for another."""
    if tier == "baseline":
        from stormwatch.models.baseline import BaselineClassifier

        return BaselineClassifier()
    raise ValueError(f"unknown classifier tier {tier!r}; available: {', '.join(TIERS)}")
