"""Rollout: A/B experiments on the AI prefill, judged on business metrics.

Sticky assignment (`assign_prefill`), funnel events of the create flow, explicit and implicit
seller feedback, per-variant stats with honest tests, guardrails that pause a failing variant,
the `trova experiments` CLI, results pages, and a traffic simulator (`trova simulate`).
"""

from trova.rollout.assignment import Assignment, assign_prefill

__all__ = ["Assignment", "assign_prefill"]
