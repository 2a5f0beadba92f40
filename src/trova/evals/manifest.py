"""The dataset file format: one manifest (JSONL or YAML) next to the images it names.

    my-dataset/
      manifest.jsonl     one case per line (or manifest.yaml: a list under `cases:`)
      images/…           the photos (any format the intake accepts)

A case (all keys but `id`, `image` and `gold` are optional):

    {"id": "claw-hammer", "image": "images/claw-hammer.jpg",
     "gold": {"category": "tools-diy/hand-tools", "category_accept": [],
              "item": "claw hammer", "item_synonyms": ["hammer"],
              "color": "brown", "color_accept": ["beige"],
              "brand": null, "brand_accept": [],
              "price_range_eur": [5, 25], "condition": null},
     "criticality": {"category": "critical", "title": "critical", "color": "major", …},
     "tags": ["demo-catalogue"], "source": {"license": "GPL-2.0-or-later", …},
     "origin": {"kind": "annotation", "ai_call_id": "…"}}

Gold values are checked against the taxonomy on load, so a typo fails the import, not a run.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trova.ai.taxonomy import taxonomy

Criticality = Literal["critical", "major", "minor", "ignore"]
WEIGHTS: dict[str, int] = {"critical": 3, "major": 2, "minor": 1, "ignore": 0}
SCORED_FIELDS = ("category", "title", "color", "brand", "price", "condition")
DEFAULT_CRITICALITY: dict[str, Criticality] = {
    "category": "critical",
    "title": "critical",
    "color": "major",
    "brand": "major",
    "price": "major",
    "condition": "minor",
}
MANIFEST_NAMES = ("manifest.jsonl", "manifest.yaml", "manifest.yml")
_KEY = re.compile(r"[a-z0-9][a-z0-9._-]{0,119}")


class DatasetError(ValueError):
    """A dataset could not be read, imported or found; the message says why and what to do."""


class Gold(BaseModel):
    """The right answers for one photo, with the alternatives a careful person would accept."""

    model_config = ConfigDict(extra="forbid")

    category: str
    category_accept: list[str] = Field(default_factory=list)
    item: str = Field(min_length=1, max_length=120)
    item_synonyms: list[str] = Field(default_factory=list)
    color: str | None = None
    color_accept: list[str] = Field(default_factory=list)
    brand: str | None = None
    brand_accept: list[str] = Field(default_factory=list)
    price_range_eur: tuple[float, float] | None = None
    condition: str | None = None

    @field_validator("category", "category_accept")
    @classmethod
    def _category(cls, value: Any) -> Any:
        for cat in value if isinstance(value, list) else [value]:
            if not taxonomy().is_category(cat):
                raise ValueError(f"{cat!r} is not a taxonomy category id")
        return value

    @field_validator("color", "color_accept")
    @classmethod
    def _color(cls, value: Any) -> Any:
        for color in value if isinstance(value, list) else [value]:
            if color is not None and color not in taxonomy().colors:
                raise ValueError(f"{color!r} is not a taxonomy color id")
        return value

    @field_validator("condition")
    @classmethod
    def _condition(cls, value: str | None) -> str | None:
        if value is not None and value not in taxonomy().conditions:
            raise ValueError(f"{value!r} is not a taxonomy condition id")
        return value

    @field_validator("price_range_eur")
    @classmethod
    def _price(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not 0 < value[0] <= value[1]:
            raise ValueError("price_range_eur must be [low, high] with 0 < low <= high")
        return value


class CaseSpec(BaseModel):
    """One case as written in a manifest."""

    model_config = ConfigDict(extra="forbid")

    id: str
    image: str
    gold: Gold
    criticality: dict[str, Criticality] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    source: dict[str, Any] | None = None
    origin: dict[str, Any] | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _KEY.fullmatch(value):
            raise ValueError("id must be lowercase letters, digits, '.', '_' or '-' (max 120)")
        return value

    @field_validator("criticality")
    @classmethod
    def _fields(cls, value: dict[str, Criticality]) -> dict[str, Criticality]:
        unknown = set(value) - set(SCORED_FIELDS)
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)}; use {', '.join(SCORED_FIELDS)}")
        return value

    @model_validator(mode="after")
    def _defaults(self) -> CaseSpec:
        self.criticality = {**DEFAULT_CRITICALITY, **self.criticality}
        return self

    def content(self, image_sha256: str) -> dict[str, Any]:
        """What identifies the case: everything but the image's file name."""
        data = self.model_dump(mode="json", exclude={"image"})
        data["image_sha256"] = image_sha256
        return data


def case_hash(spec: CaseSpec, image_sha256: str) -> str:
    return _sha(spec.content(image_sha256))


def version_hash(case_hashes: dict[str, str]) -> str:
    """A version is its cases: the hash of the sorted (key, case hash) pairs."""
    return _sha(sorted(case_hashes.items()))


def _sha(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def find_manifest(path: Path) -> Path:
    if path.is_file():
        return path
    for name in MANIFEST_NAMES:
        if (path / name).is_file():
            return path / name
    raise DatasetError(
        f"No manifest in {path}: expected one of {', '.join(MANIFEST_NAMES)} next to the images."
    )


def read_manifest(path: Path) -> list[tuple[CaseSpec, bytes]]:
    """Parse a manifest and read the images it names; DatasetError says which line is wrong."""
    manifest = find_manifest(path)
    root = manifest.parent
    entries: list[tuple[str, Any]] = []
    try:
        text = manifest.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"Cannot read {manifest}: {exc}") from None
    if manifest.suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("//"):
                try:
                    entries.append((f"line {number}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise DatasetError(
                        f"{manifest.name} line {number}: bad JSON ({exc.msg})."
                    ) from None
    else:
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise DatasetError(f"{manifest.name}: bad YAML ({exc}).") from None
        cases = data.get("cases") if isinstance(data, dict) else data
        if not isinstance(cases, list):
            raise DatasetError(f"{manifest.name}: expected a list of cases under `cases:`.")
        entries = [(f"case {i}", c) for i, c in enumerate(cases, 1)]
    if not entries:
        raise DatasetError(f"{manifest.name} has no cases.")
    out: list[tuple[CaseSpec, bytes]] = []
    seen: set[str] = set()
    for where, raw in entries:
        try:
            spec = CaseSpec.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise DatasetError(f"{manifest.name} {where}: {loc}: {err['msg']}.") from None
        if spec.id in seen:
            raise DatasetError(f"{manifest.name} {where}: duplicate case id {spec.id!r}.")
        seen.add(spec.id)
        image = (root / spec.image).resolve()
        if root.resolve() not in image.parents or not image.is_file():
            raise DatasetError(
                f"{manifest.name} {where}: image {spec.image!r} not found under {root}."
            )
        out.append((spec, image.read_bytes()))
    return out


def write_manifest(out_dir: Path, cases: list[tuple[CaseSpec, bytes]]) -> Path:
    """Write a manifest.jsonl and images/ that read_manifest reads back to the same content."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "images").mkdir(exist_ok=True)
    lines = []
    for spec, data in cases:
        ext = _extension(data)
        name = f"images/{spec.id}{ext}"
        (out_dir / name).write_bytes(data)
        row = spec.model_copy(update={"image": name}).model_dump(mode="json")
        lines.append(json.dumps(row, ensure_ascii=False, separators=(", ", ": ")))
    manifest = out_dir / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n", "utf-8")
    return manifest


def _extension(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return ".jpg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return ".png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return ".img"
