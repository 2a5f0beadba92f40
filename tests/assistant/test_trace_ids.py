"""Trace ids are primary keys: reseeding Python's `random` must not make them repeat."""

from __future__ import annotations

import random

from trova.assistant.export import make_tracer_provider
from trova.config import Settings
from trova.db.engine import make_engine


def test_trace_ids_do_not_follow_the_global_random_seed(settings: Settings) -> None:
    provider = make_tracer_provider(make_engine(settings.db_url), settings)
    tracer = provider.get_tracer("test")
    ids = []
    for _ in range(2):
        random.seed(0)
        with tracer.start_as_current_span("turn") as span:
            ids.append(span.get_span_context().trace_id)
    assert ids[0] != ids[1]
