"""The dataset format and the shipped starter dataset."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.evals.conftest import STARTER, make_dataset, starter_cases
from trova.ai.taxonomy import taxonomy
from trova.evals.manifest import DatasetError, case_hash, read_manifest, version_hash


def test_starter_has_60_real_photos_with_valid_gold_and_licenses() -> None:
    cases = read_manifest(STARTER)
    assert len(cases) >= 60
    for spec, image in cases:
        assert image[:3] == b"\xff\xd8\xff", spec.id  # a JPEG photo
        assert spec.source and spec.source["license"] and spec.source["credit"], spec.id
        assert spec.gold.price_range_eur is not None, spec.id
        assert spec.criticality["category"] == "critical"
    tops = Counter(taxonomy().top_of(spec.gold.category) for spec, _ in cases)
    assert len(tops) >= 9  # spread over most of the taxonomy
    assert sum("held-out" in spec.tags for spec, _ in cases) >= 5
    assert sum(bool(spec.gold.brand) for spec, _ in cases) >= 4


def test_starter_readme_states_leakage_gaps_and_licenses() -> None:
    text = (STARTER / "README.md").read_text("utf-8").lower()
    for needed in ("gpl-2", "leak", "clothing", "furniture", "scikit-image", "held-out"):
        assert needed in text


def _write(folder: Path, rows: list[str]) -> None:
    (folder / "manifest.jsonl").write_text("\n".join(rows) + "\n", "utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gold": {"category": "vehicles"}}, "line 2: gold.category"),
        ({"gold": {"color": "teal"}}, "not a taxonomy color"),
        ({"image": "images/missing.jpg"}, "not found"),
        ({"id": "Bad Id"}, "id"),
        ({"gold": {"price_range_eur": [50, 10]}}, "low <= high"),
        ({"criticality": {"vibes": "critical"}}, "unknown field"),
    ],
)
def test_a_bad_case_fails_the_import_with_its_line(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    folder = make_dataset(tmp_path / "d", ["basketball", "trumpet"])
    rows = (folder / "manifest.jsonl").read_text().splitlines()
    case = json.loads(rows[1])
    for key, value in change.items():
        if isinstance(value, dict) and key == "gold":
            case["gold"].update(value)
        else:
            case[key] = value
    rows[1] = json.dumps(case)
    _write(folder, rows)
    with pytest.raises(DatasetError, match=message):
        read_manifest(folder)


def test_duplicate_ids_and_bad_json_are_reported(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path / "d", ["basketball"])
    row = (folder / "manifest.jsonl").read_text().splitlines()[0]
    _write(folder, [row, row])
    with pytest.raises(DatasetError, match="duplicate case id 'basketball'"):
        read_manifest(folder)
    _write(folder, [row, "{not json"])
    with pytest.raises(DatasetError, match="line 2: bad JSON"):
        read_manifest(folder)
    with pytest.raises(DatasetError, match="No manifest"):
        read_manifest(tmp_path)


def test_yaml_and_jsonl_manifests_of_the_same_cases_have_the_same_hash(tmp_path: Path) -> None:
    jsonl = make_dataset(tmp_path / "a", ["basketball", "trumpet"])
    yml = make_dataset(tmp_path / "b", ["basketball", "trumpet"])
    cases = [starter_cases()[k] for k in ("basketball", "trumpet")]
    (yml / "manifest.jsonl").unlink()
    (yml / "manifest.yaml").write_text(yaml.safe_dump({"cases": cases}), "utf-8")

    def digest(folder: Path) -> str:
        import hashlib

        return version_hash(
            {
                s.id: case_hash(s, hashlib.sha256(img).hexdigest())
                for s, img in read_manifest(folder)
            }
        )

    assert digest(jsonl) == digest(yml)
    edited = make_dataset(
        tmp_path / "c", ["basketball", "trumpet"], {"trumpet": {"color": "yellow"}}
    )
    assert digest(edited) != digest(jsonl)
