"""Reproduces what tools/ depend on: data, training runs and evaluation metrics (imports model classes from tools/)."""
