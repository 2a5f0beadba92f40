"""Evaluation: versioned photo datasets, per-field metrics, eval runs, compare, gate, report."""
