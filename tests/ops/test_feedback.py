"""Seller thumbs (the rollout room's feedback) in the dashboard, inspector and sampling."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.ops.conftest import MakeCall
from trova.ai.models import AICall
from trova.ops import annotation
from trova.ops.dashboard import Filters, build
from trova.ops.feedback import thumbs_source
from trova.ops.inspector import CallQuery, list_calls
from trova.ops.models import AnnotationQueue, QueueItem
from trova.ops.rollups import refresh


def _thumb(engine: Engine, call: AICall, rating: int) -> None:
    from trova.rollout.models import Feedback

    with Session(engine) as session:
        session.add(Feedback(ai_call_id=call.id, rating=rating))
        session.commit()


@pytest.fixture
def feedback_ready(engine: Engine) -> None:
    if thumbs_source(engine) is None:
        pytest.fail("the rollout room's feedback table should be migrated")


def test_thumbs_reach_the_dashboard_the_inspector_and_the_queues(
    engine: Engine, make_call: MakeCall, feedback_ready: None
) -> None:
    liked, disliked, silent = make_call(), make_call(), make_call()
    _thumb(engine, liked, 1)
    _thumb(engine, disliked, -1)
    refresh(engine)
    board = build(engine, Filters.build("24h"))
    assert board.has_thumbs
    assert board.totals["thumbs"] == 2
    assert board.totals["thumbs_up_share"] == pytest.approx(0.5)

    page = list_calls(engine, CallQuery(thumbs_down=True))
    assert [r.id for r in page.rows] == [disliked.id]
    assert page.rows[0].thumbs_down == 1

    with Session(engine, expire_on_commit=False) as session:
        queue = annotation.create_queue(session, name="disliked", rule={"kind": "thumbs_down"})
        assert annotation.fill_queue(session, queue) == 1
        queued = session.exec(
            select(QueueItem.ai_call_id).where(QueueItem.queue_id == queue.id)
        ).all()
        assert list(queued) == [disliked.id]
        assert session.get(AnnotationQueue, queue.id) is not None
    assert silent.id not in queued


def test_late_thumbs_update_the_hour_they_belong_to(
    engine: Engine, make_call: MakeCall, feedback_ready: None
) -> None:
    from datetime import timedelta

    from trova.db._time import utcnow

    old = make_call(created_at=utcnow() - timedelta(hours=6))
    refresh(engine)
    _thumb(engine, old, -1)  # the seller answers hours after the call
    refresh(engine)
    totals = build(engine, Filters.build("24h")).totals
    assert totals["thumbs"] == 1 and totals["thumbs_up_share"] == 0.0
