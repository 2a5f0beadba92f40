"""Eval test fixtures: a small dataset folder made from starter photos, settings, engines."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from trova.config import Settings
from trova.db.engine import make_engine

REPO = Path(__file__).resolve().parents[2]
STARTER = REPO / "evals" / "datasets" / "starter"
BASELINE = REPO / "evals" / "baselines" / "starter-local.json"


def starter_cases() -> dict[str, dict[str, Any]]:
    lines = (STARTER / "manifest.jsonl").read_text("utf-8").splitlines()
    return {case["id"]: case for case in map(json.loads, lines)}


def make_dataset(folder: Path, keys: list[str], edit: dict[str, Any] | None = None) -> Path:
    """A manifest folder with the given starter cases (optionally with gold fields changed)."""
    cases = starter_cases()
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for key in keys:
        case = json.loads(json.dumps(cases[key]))
        shutil.copy(STARTER / case["image"], folder / case["image"])
        if edit and key in edit:
            case["gold"].update(edit[key])
        rows.append(json.dumps(case))
    (folder / "manifest.jsonl").write_text("\n".join(rows) + "\n", "utf-8")
    return folder


SMALL = ["basketball", "claw-hammer", "trumpet", "white-mug"]


@pytest.fixture
def small_dataset(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "small", SMALL)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def eval_settings(db_url: str, tmp_path: Path, model_cache: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        secret_key="t",
        run_workers=False,
        model_cache_dir=model_cache,
        prefill_backoff_s=0.0,
        prefill_timeout_s=5,
    )


@pytest.fixture
def sqlite_settings(sqlite_url: str, tmp_path: Path, model_cache: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=sqlite_url,
        secret_key="t",
        run_workers=False,
        model_cache_dir=model_cache,
        prefill_backoff_s=0.0,
        prefill_timeout_s=5,
    )


@pytest.fixture
def eval_engine(eval_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(eval_settings.db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(sqlite_settings.db_url)
    yield engine
    engine.dispose()
