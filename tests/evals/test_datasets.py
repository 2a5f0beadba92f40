"""Versioned datasets in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.evals.conftest import SMALL, make_dataset, starter_cases
from trova.config import Settings
from trova.evals import datasets
from trova.evals.manifest import CaseSpec, DatasetError, read_manifest


def test_reimporting_the_same_content_finds_the_same_version(
    eval_engine: Engine, small_dataset: Path
) -> None:
    first, created = datasets.import_path(eval_engine, small_dataset, "small")
    again, created_again = datasets.import_path(eval_engine, small_dataset, "small")
    assert (created, created_again) == (True, False)
    assert again == first and first.ref == "small@v1" and first.case_count == len(SMALL)


def test_a_changed_case_makes_a_new_version_with_lineage(
    eval_engine: Engine, tmp_path: Path, small_dataset: Path
) -> None:
    v1, _ = datasets.import_path(eval_engine, small_dataset, "small")
    changed = make_dataset(tmp_path / "v2", SMALL, {"trumpet": {"color": "yellow"}})
    v2, created = datasets.import_path(eval_engine, changed, "small", note="trumpet is brass")
    assert created and v2.number == 2 and v2.version_id != v1.version_id
    with Session(eval_engine) as session:
        listed = datasets.list_datasets(session)[0]
        cases = {c.key: c for c in datasets.load_cases(session, v2.version_id)}
        # the old version is still there, untouched
        old = {c.key: c for c in datasets.load_cases(session, v1.version_id)}
    assert [v["version"] for v in listed["versions"]] == ["v1", "v2"]
    assert listed["versions"][1]["parent"] == v1.version_id
    assert listed["versions"][1]["added_cases"] == 1
    assert cases["trumpet"].added_in == v2.version_id
    assert cases["basketball"].added_in == v1.version_id
    assert old["trumpet"].spec.gold.color == "gold" and cases["trumpet"].spec.gold.color == "yellow"


def test_appended_cases_keep_their_origin(eval_engine: Engine, small_dataset: Path) -> None:
    datasets.import_path(eval_engine, small_dataset, "small")
    raw = starter_cases()["violin"]
    image = (
        Path(__file__).resolve().parents[2] / "evals/datasets/starter" / raw["image"]
    ).read_bytes()
    spec = CaseSpec.model_validate(
        {**raw, "origin": {"kind": "annotation", "ai_call_id": "abc123", "annotator": "ann"}}
    )
    v2, created = datasets.append_cases(
        eval_engine, "small", [(spec, image)], created_from="annotation-queue:7"
    )
    assert created and v2.case_count == len(SMALL) + 1
    with Session(eval_engine) as session:
        violin = next(c for c in datasets.load_cases(session, v2.version_id) if c.key == "violin")
        listed = datasets.list_datasets(session)[0]["versions"][-1]
    assert violin.spec.origin == {"kind": "annotation", "ai_call_id": "abc123", "annotator": "ann"}
    assert listed["created_from"] == "annotation-queue:7"


def test_export_round_trips_to_the_same_hash_and_bytes(
    eval_engine: Engine, small_dataset: Path, tmp_path: Path
) -> None:
    v1, _ = datasets.import_path(eval_engine, small_dataset, "small")
    out = tmp_path / "exported"
    datasets.export(eval_engine, "small@v1", out)
    again, created = datasets.import_path(eval_engine, out, "small")
    assert not created and again.version_id == v1.version_id
    original = {s.id: img for s, img in read_manifest(small_dataset)}
    exported = {s.id: img for s, img in read_manifest(out)}
    assert original == exported
    with pytest.raises(DatasetError, match="not empty"):
        datasets.export(eval_engine, "small", out)


def test_versions_resolve_by_number_hash_prefix_and_latest(
    eval_engine: Engine, small_dataset: Path, tmp_path: Path
) -> None:
    v1, _ = datasets.import_path(eval_engine, small_dataset, "small")
    v2, _ = datasets.import_path(eval_engine, make_dataset(tmp_path / "b", SMALL[:2]), "small")
    with Session(eval_engine) as session:
        assert datasets.resolve(session, "small") == v2
        assert datasets.resolve(session, "small@latest") == v2
        assert datasets.resolve(session, "small@v1") == v1
        assert datasets.resolve(session, f"small@{v1.version_id[:8]}") == v1
        with pytest.raises(DatasetError, match=r"no version 'v9' \(versions: v1"):
            datasets.resolve(session, "small@v9")
        with pytest.raises(DatasetError, match="No dataset named 'nope'"):
            datasets.resolve(session, "nope")


def test_the_same_content_under_another_name_is_refused(
    eval_engine: Engine, small_dataset: Path
) -> None:
    datasets.import_path(eval_engine, small_dataset, "small")
    with pytest.raises(DatasetError, match="already dataset 'small'"):
        datasets.import_path(eval_engine, small_dataset, "copy")


def test_shipped_starter_is_imported_on_first_use(
    eval_engine: Engine, eval_settings: Settings
) -> None:
    ref = datasets.resolve_arg(eval_engine, eval_settings, "starter")
    assert ref.ref == "starter@v1" and ref.case_count >= 60
    assert datasets.resolve_arg(eval_engine, eval_settings, "starter@v1") == ref
    manifest = Path(__file__).resolve().parents[2] / "evals/datasets/starter/manifest.jsonl"
    assert ref.case_count == len(manifest.read_text().splitlines())
    assert json.loads(manifest.read_text().splitlines()[0])["id"]


def test_appending_to_the_unused_starter_set_keeps_its_shipped_cases(
    eval_engine: Engine,
) -> None:
    raw = starter_cases()["violin"]
    image = (
        Path(__file__).resolve().parents[2] / "evals/datasets/starter" / raw["image"]
    ).read_bytes()
    spec = CaseSpec.model_validate({**raw, "id": "call-123", "origin": {"kind": "annotation"}})
    ref, _ = datasets.append_cases(
        eval_engine, "starter", [(spec, image)], created_from="annotation"
    )
    assert ref.number == 2 and ref.case_count == len(starter_cases()) + 1
