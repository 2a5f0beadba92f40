"""Annotation queues: sampling rules, quotas, dedup, verdicts, agreement, promotion lineage."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.helpers.images import jpeg_bytes
from tests.ops.conftest import MakeCall, publish_listing
from trova.accounts import service as accounts
from trova.accounts.models import User
from trova.ai.models import CallStatus
from trova.config import Settings
from trova.db._time import utcnow
from trova.media.storage import LocalStorage, image_key, new_image_id
from trova.ops import annotation, promotion
from trova.ops.annotation import AnnotationError, SamplingRule
from trova.ops.models import AnnotationQueue, PromotedCase, QueueItem
from trova.ops.rollups import refresh

ALL_CORRECT = {f: "correct" for f in annotation.FIELDS}


def _user(engine: Engine, name: str) -> User:
    with Session(engine, expire_on_commit=False) as session:
        return accounts.register(
            session,
            email=f"{name}-{uuid.uuid4().hex[:6]}@example.com",
            password="pw-123456",
            name=name,
        )


def _queue(engine: Engine, name: str = "q", **kw: object) -> AnnotationQueue:
    rule = kw.pop("rule", {"kind": "random"})
    with Session(engine, expire_on_commit=False) as session:
        return annotation.create_queue(session, name=name, rule=rule, **kw)  # type: ignore[arg-type]


def _fill(engine: Engine, queue: AnnotationQueue, now=None) -> int:  # type: ignore[no-untyped-def]
    with Session(engine, expire_on_commit=False) as session:
        q = session.get(AnnotationQueue, queue.id)
        assert q is not None
        return annotation.fill_queue(session, q, now)


def _queued(engine: Engine, queue: AnnotationQueue) -> list[str]:
    with Session(engine) as session:
        return list(
            session.exec(select(QueueItem.ai_call_id).where(QueueItem.queue_id == queue.id))
        )


def _form(verdicts: dict[str, str], **values: str) -> dict[str, str]:
    form = {f"verdict_{k}": v for k, v in verdicts.items()}
    form.update({f"value_{k}": v for k, v in values.items()})
    return form


# ---------------------------------------------------------------- sampling


def test_random_share_is_deterministic_and_never_queues_a_call_twice(
    engine: Engine, make_call: MakeCall
) -> None:
    calls = [make_call() for _ in range(60)]
    queue = _queue(engine, rule={"kind": "random", "share": 0.5}, daily_quota=1000)
    first = _fill(engine, queue)
    assert 15 <= first <= 45  # about half of 60
    expected = {c.id for c in calls if annotation.unit_hash(queue.id or 0, c.id) < 0.5}
    assert set(_queued(engine, queue)) == expected
    assert _fill(engine, queue) == 0  # the same calls again: nothing new, nothing twice
    with Session(engine, expire_on_commit=False) as session:
        q = session.get(AnnotationQueue, queue.id)
        assert q is not None
        item, added = annotation.add_call(session, q, next(iter(expected)))
        assert not added and item.reason == "rule"
    assert len(_queued(engine, queue)) == len(expected)


def test_daily_quota_caps_sampling_per_utc_day(engine: Engine, make_call: MakeCall) -> None:
    for _ in range(12):
        make_call()
    queue = _queue(engine, daily_quota=5)
    assert _fill(engine, queue) == 5
    for _ in range(4):
        make_call(created_at=utcnow())
    assert _fill(engine, queue) == 0  # quota used up today
    tomorrow = utcnow() + timedelta(days=1)
    for _ in range(8):
        make_call(created_at=tomorrow - timedelta(minutes=1))
    assert _fill(engine, queue, now=tomorrow) == 5  # a new UTC day, a fresh quota
    assert len(_queued(engine, queue)) == 10
    with Session(engine, expire_on_commit=False) as session:
        q = session.get(AnnotationQueue, queue.id)
        assert q is not None
        manual = [c for c in [make_call()]]
        _, added = annotation.add_call(session, q, manual[0].id)  # manual adds bypass the quota
        assert added


def test_rule_kinds_pick_the_right_calls(
    engine: Engine, make_call: MakeCall, seller_user: User
) -> None:
    ok = make_call()
    error = make_call(status=CallStatus.error)
    timeout = make_call(status=CallStatus.timeout)
    unsure = make_call(confidence={"title": 0.9, "category": 0.2, "price": 0.9})
    treated = make_call(experiment="prompt-ab", variant="treatment")
    make_call(experiment="prompt-ab", variant="control")
    edited = make_call()
    publish_listing(engine, edited, seller_user, title="Something else", brand="Other", color=None)
    publish_listing(engine, ok, seller_user)  # published as suggested: not "edited"
    refresh(engine)
    cases = {
        "errors": ({"kind": "errors"}, {error.id, timeout.id}),
        "unsure": ({"kind": "low_confidence", "below": 0.5}, {unsure.id}),
        "treat": (
            {"kind": "variant", "experiment": "prompt-ab", "variant": "treatment"},
            {treated.id},
        ),
        "edits": ({"kind": "edited", "min_edited": 2}, {edited.id}),
    }
    for name, (rule, expected) in cases.items():
        queue = _queue(engine, name, rule=rule, daily_quota=100)
        _fill(engine, queue)
        assert set(_queued(engine, queue)) == expected, name


def test_stratified_sampling_spreads_the_quota_over_categories(
    engine: Engine, make_call: MakeCall
) -> None:
    for _ in range(10):
        make_call(draft={"title": "Road bike", "category": "bicycles/road"})
    for _ in range(2):
        make_call(draft={"title": "Lamp", "category": "home-kitchen/decor"})
    make_call(draft={"title": "Drill", "category": "tools-diy"})
    queue = _queue(engine, rule={"kind": "stratified"}, daily_quota=6)
    assert _fill(engine, queue) == 6
    with Session(engine) as session:
        from trova.ai.models import AICall

        cats = [
            (session.get(AICall, cid).draft or {})["category"].split("/")[0]  # type: ignore[union-attr]
            for cid in _queued(engine, queue)
        ]
    assert cats.count("home-kitchen") == 2 and cats.count("tools-diy") == 1
    assert cats.count("bicycles") == 3


def test_bad_rules_and_names_are_refused(engine: Engine) -> None:
    with pytest.raises(AnnotationError, match="queue name"):
        _queue(engine, "Bad Name!")
    with pytest.raises(AnnotationError, match="experiment"):
        _queue(engine, "v", rule={"kind": "variant"})
    with pytest.raises(AnnotationError, match="share"):
        _queue(engine, "s", rule={"kind": "random", "share": 2})
    _queue(engine, "dup")
    with pytest.raises(AnnotationError, match="already"):
        _queue(engine, "dup")
    assert SamplingRule(kind="edited", min_edited=3).describe().endswith("(≥ 3 fields)")


# ---------------------------------------------------------------- verdicts and agreement


def test_verdicts_need_every_field_and_valid_corrections() -> None:
    with pytest.raises(AnnotationError, match="Judge every field"):
        annotation.parse_verdicts({"verdict_title": "correct"})
    with pytest.raises(AnnotationError, match="not a category"):
        annotation.parse_verdicts(_form({**ALL_CORRECT, "category": "wrong"}, category="cars"))
    parsed = annotation.parse_verdicts(
        _form({**ALL_CORRECT, "price": "wrong", "brand": "wrong"}, price="12,50", brand="")
    )
    assert parsed["price"] == {"verdict": "wrong", "value": 12.5}
    assert parsed["brand"] == {"verdict": "wrong", "value": None}  # "should be empty"


def test_agreement_and_kappa_between_two_annotators(engine: Engine, make_call: MakeCall) -> None:
    a, b = _user(engine, "ann"), _user(engine, "bob")
    calls = [make_call() for _ in range(3)]
    queue = _queue(engine, overlap=2, daily_quota=10)
    _fill(engine, queue)
    with Session(engine, expire_on_commit=False) as session:
        q = session.get(AnnotationQueue, queue.id)
        assert q is not None
        for n in range(3):
            item_a = annotation.next_item(session, q, a)
            assert item_a is not None
            verdicts = annotation.parse_verdicts(_form(ALL_CORRECT))
            annotation.save_annotation(session, item_a, a, verdicts)
            item_b = annotation.next_item(session, q, b)
            assert item_b is not None
            # Bob disagrees on the color of the first call he sees
            if n == 0:
                other = annotation.parse_verdicts(
                    _form({**ALL_CORRECT, "color": "wrong"}, color="black")
                )
            else:
                other = annotation.parse_verdicts(_form(ALL_CORRECT))
            annotation.save_annotation(session, item_b, b, other)
        assert annotation.next_item(session, q, a) is None
        stats = annotation.stats(session, q, a)
        assert (stats.items, stats.done, stats.mine, stats.left_for_me) == (3, 3, 3, 0)
        agree = annotation.agreement(session, q)
    assert agree.items == 3
    assert agree.per_field["color"] == pytest.approx(2 / 3)
    assert agree.per_field["title"] == pytest.approx(1.0)
    assert agree.overall == pytest.approx(20 / 21)
    assert agree.kappa is not None and agree.kappa < 1
    assert len(calls) == 3


def test_kappa_is_one_for_perfect_agreement_beyond_chance() -> None:
    pairs = [("correct", "correct"), ("wrong", "wrong")] * 5
    assert annotation.cohen_kappa(pairs) == pytest.approx(1.0)
    assert annotation.cohen_kappa([("correct", "correct")] * 4) is None  # no variance
    assert annotation.cohen_kappa([]) is None


# ---------------------------------------------------------------- promotion


def _with_photo(make_call: MakeCall, settings: Settings, **kw: object):  # type: ignore[no-untyped-def]
    photo_id = new_image_id()
    LocalStorage(settings.images_dir).put(image_key(photo_id, "full"), jpeg_bytes())
    return make_call(image_ref=photo_id, **kw)


def test_promotion_creates_a_new_immutable_version_traced_to_calls(
    engine: Engine, make_call: MakeCall, settings: Settings
) -> None:
    from trova.evals.datasets import load_cases, resolve

    settings.ensure_dirs()
    storage = LocalStorage(settings.images_dir)
    ann = _user(engine, "ann")
    first = _with_photo(make_call, settings)
    queue = _queue(engine, daily_quota=10)
    _fill(engine, queue)
    with Session(engine, expire_on_commit=False) as session:
        q = session.get(AnnotationQueue, queue.id)
        assert q is not None
        item = annotation.next_item(session, q, ann)
        assert item is not None
        verdicts = annotation.parse_verdicts(
            {**_form({**ALL_CORRECT, "color": "wrong"}, color="red"), "item": "road bike"}
        )
        saved = annotation.save_annotation(session, item, ann, verdicts)
    v1 = promotion.promote(engine, storage, "q", "bikes")
    assert (v1.version, v1.cases, v1.created) == ("bikes@v1", 1, True)

    second = _with_photo(
        make_call,
        settings,
        draft={"title": "Desk lamp", "category": "home-kitchen/decor", "color": "white"},
    )
    _fill(engine, queue)
    with Session(engine, expire_on_commit=False) as session:
        q = session.get(AnnotationQueue, queue.id)
        assert q is not None
        item2 = annotation.next_item(session, q, ann)
        assert item2 is not None and item2.ai_call_id == second.id
        annotation.save_annotation(
            session, item2, ann, annotation.parse_verdicts(_form(ALL_CORRECT))
        )
    v2 = promotion.promote(engine, storage, "q", "bikes")
    assert (v2.version, v2.cases) == ("bikes@v2", 1)  # only the new call
    assert v2.skipped == {"already in the dataset": 1}
    assert v2.version_id != v1.version_id

    with Session(engine) as session:
        old = load_cases(session, resolve(session, "bikes@v1").version_id)
        new = load_cases(session, resolve(session, "bikes@v2").version_id)
        lineage = session.exec(select(PromotedCase).order_by(PromotedCase.id)).all()
    assert [c.key for c in old] == [f"call-{first.id}"]  # v1 unchanged
    assert sorted(c.key for c in new) == sorted([f"call-{first.id}", f"call-{second.id}"])
    case = next(c for c in new if c.key == f"call-{first.id}")
    assert case.spec.origin is not None
    assert case.spec.origin["ai_call_id"] == first.id
    assert case.spec.origin["annotation_ids"] == [saved.id]
    assert case.spec.origin["queue"] == "q"
    assert case.spec.gold.color == "red" and case.spec.gold.category == "bicycles/road"
    assert case.spec.gold.item == "road bike"
    assert case.spec.gold.price_range_eur == (135.0, 225.0)
    assert case.added_in == v1.version_id  # the case keeps the version it first appeared in
    assert [(p.ai_call_id, p.case_id) for p in lineage] == [
        (first.id, f"call-{first.id}"),
        (second.id, f"call-{second.id}"),
    ]
    with pytest.raises(AnnotationError, match="Nothing to promote"):
        promotion.promote(engine, storage, "q", "bikes")


def test_disagreements_are_left_out_of_the_eval_set(
    engine: Engine, make_call: MakeCall, settings: Settings
) -> None:
    settings.ensure_dirs()
    a, b = _user(engine, "ann"), _user(engine, "bob")
    _with_photo(make_call, settings)
    queue = _queue(engine, overlap=2)
    _fill(engine, queue)
    with Session(engine, expire_on_commit=False) as session:
        q = session.get(AnnotationQueue, queue.id)
        assert q is not None
        for user, color in ((a, "blue"), (b, "green")):
            item = annotation.next_item(session, q, user)
            assert item is not None
            verdict = "correct" if color == "blue" else "wrong"
            annotation.save_annotation(
                session,
                item,
                user,
                annotation.parse_verdicts(_form({**ALL_CORRECT, "color": verdict}, color=color)),
            )
    with pytest.raises(AnnotationError, match="1 with annotator disagreement"):
        promotion.promote(engine, LocalStorage(settings.images_dir), "q", "bikes")
