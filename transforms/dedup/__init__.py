"""Duplicates within a run, across runs, and near-duplicates."""
