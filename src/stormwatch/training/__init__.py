"""Reproducible training of the shipped model artifacts (`stormwatch train`)."""
