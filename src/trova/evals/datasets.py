"""Versioned eval datasets in the database: import, append, resolve, export.

A version is immutable and named by the hash of its content (`version_hash`); importing the same
content twice finds the existing version instead of making a new one. Every new version records
its parent and how it was made (`created_from`), and every case remembers the version it first
appeared in (`added_in`), so "where did this case come from" always has an answer.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from trova.config import Settings
from trova.evals.manifest import (
    CaseSpec,
    DatasetError,
    case_hash,
    read_manifest,
    version_hash,
    write_manifest,
)
from trova.evals.models import EvalCase, EvalDataset, EvalDatasetVersion, EvalImage

REPO_DATASETS = Path(__file__).resolve().parents[3] / "evals" / "datasets"


@dataclass(frozen=True)
class VersionRef:
    """A resolved dataset version (plain data, safe to use after the session closes)."""

    dataset: str
    version_id: str
    number: int
    case_count: int

    @property
    def ref(self) -> str:
        return f"{self.dataset}@v{self.number}"

    @property
    def short_hash(self) -> str:
        return self.version_id[:12]


@dataclass
class LoadedCase:
    key: str
    spec: CaseSpec
    image: bytes
    image_sha256: str
    added_in: str


def datasets_dir(settings: Settings) -> Path:
    return settings.eval_datasets_dir or REPO_DATASETS


def _ref(dataset: EvalDataset, version: EvalDatasetVersion) -> VersionRef:
    return VersionRef(dataset.name, version.id, version.number, version.case_count)


def create_version(
    session: Session,
    name: str,
    cases: list[tuple[CaseSpec, bytes]],
    *,
    created_from: str,
    note: str | None = None,
    description: str | None = None,
) -> tuple[VersionRef, bool]:
    """Store `cases` as a version of dataset `name`; (ref, created). Same content -> old version."""
    if not cases:
        raise DatasetError("A dataset version needs at least one case.")
    if not name or len(name) > 80 or "@" in name or "/" in name:
        raise DatasetError(f"Bad dataset name {name!r}: use up to 80 characters, no '@' or '/'.")
    images: dict[str, bytes] = {}
    hashes: dict[str, str] = {}
    for spec, data in cases:
        sha = hashlib.sha256(data).hexdigest()
        images[spec.id] = data
        hashes[spec.id] = case_hash(spec, sha)
    vid = version_hash(hashes)
    dataset = session.exec(select(EvalDataset).where(EvalDataset.name == name)).first()
    if dataset is None:
        dataset = EvalDataset(name=name, description=description)
        session.add(dataset)
        session.flush()
    existing = session.get(EvalDatasetVersion, vid)
    if existing is not None:
        if existing.dataset_id != dataset.id:
            other = session.get(EvalDataset, existing.dataset_id)
            raise DatasetError(
                f"This exact content is already dataset {other.name if other else '?'!r} "
                f"(version {vid[:12]}); import it under that name."
            )
        return _ref(dataset, existing), False
    parent = _latest(session, dataset)
    parent_cases = _case_index(session, parent.id) if parent else {}
    number = (parent.number if parent else 0) + 1
    version = EvalDatasetVersion(
        id=vid,
        dataset_id=dataset.id,  # type: ignore[arg-type]
        number=number,
        parent_id=parent.id if parent else None,
        created_from=created_from[:500],
        note=note,
        case_count=len(cases),
    )
    session.add(version)
    session.flush()
    for spec, data in cases:
        sha = hashlib.sha256(data).hexdigest()
        if session.get(EvalImage, sha) is None:
            width, height = _size(data, spec.id)
            session.add(EvalImage(sha256=sha, data=data, width=width, height=height))
            session.flush()
        before = parent_cases.get(spec.id)
        added_in = before.added_in if before and before.case_hash == hashes[spec.id] else vid
        session.add(
            EvalCase(
                version_id=vid,
                key=spec.id,
                case_hash=hashes[spec.id],
                image_sha256=sha,
                gold=spec.gold.model_dump(mode="json"),
                criticality=dict(spec.criticality),
                tags=list(spec.tags),
                source=spec.source,
                origin=spec.origin,
                added_in=added_in,
            )
        )
    session.commit()
    return _ref(dataset, version), True


def _size(data: bytes, key: str) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:
        raise DatasetError(f"Case {key!r}: the image is not a readable picture.") from None


def _latest(session: Session, dataset: EvalDataset) -> EvalDatasetVersion | None:
    return session.exec(
        select(EvalDatasetVersion)
        .where(EvalDatasetVersion.dataset_id == dataset.id)
        .order_by(col(EvalDatasetVersion.number).desc())
    ).first()


def _case_index(session: Session, version_id: str) -> dict[str, EvalCase]:
    rows = session.exec(select(EvalCase).where(EvalCase.version_id == version_id)).all()
    return {row.key: row for row in rows}


def import_path(
    engine: Engine, path: Path, name: str, *, note: str | None = None
) -> tuple[VersionRef, bool]:
    """Import a manifest folder (or file) as a version of dataset `name`."""
    cases = read_manifest(path)
    with Session(engine) as session:
        return create_version(
            session, name, cases, created_from=f"import:{path.resolve()}", note=note
        )


def append_cases(
    engine: Engine,
    name: str,
    new_cases: list[tuple[CaseSpec, bytes]],
    *,
    created_from: str,
    note: str | None = None,
    settings: Settings | None = None,
) -> tuple[VersionRef, bool]:
    """A new version = the latest version's cases plus `new_cases` (same id: replaced).

    For the annotation queue: give each case an `origin` (e.g. {"kind": "annotation",
    "ai_call_id": …, "annotator": …}) so the version keeps where every case came from.
    """
    shipped = (datasets_dir(settings) if settings else REPO_DATASETS) / name
    with Session(engine) as session:
        exists = session.exec(select(EvalDataset.id).where(EvalDataset.name == name)).first()
    if exists is None and (shipped / "manifest.jsonl").is_file():
        # appending to a shipped dataset never used yet: start from its shipped cases
        import_path(engine, shipped, name, note="shipped dataset, imported on first use")
    with Session(engine) as session:
        dataset = session.exec(select(EvalDataset).where(EvalDataset.name == name)).first()
        current: dict[str, tuple[CaseSpec, bytes]] = {}
        if dataset is not None and (latest := _latest(session, dataset)) is not None:
            for case in load_cases(session, latest.id):
                current[case.key] = (case.spec, case.image)
        for spec, data in new_cases:
            current[spec.id] = (spec, data)
        return create_version(
            session, name, list(current.values()), created_from=created_from, note=note
        )


def resolve(session: Session, ref: str) -> VersionRef:
    """`name`, `name@latest`, `name@v3`, `name@3` or `name@<hash prefix>` -> a version."""
    name, _, selector = ref.strip().partition("@")
    dataset = session.exec(select(EvalDataset).where(EvalDataset.name == name)).first()
    if dataset is None:
        known = ", ".join(session.exec(select(EvalDataset.name)).all()) or "none yet"
        raise DatasetError(
            f"No dataset named {name!r} (known: {known}); import one with "
            "`trova eval import PATH --name NAME`."
        )
    versions = session.exec(
        select(EvalDatasetVersion)
        .where(EvalDatasetVersion.dataset_id == dataset.id)
        .order_by(col(EvalDatasetVersion.number))
    ).all()
    if not selector or selector == "latest":
        return _ref(dataset, versions[-1])
    number = selector[1:] if selector[:1] in ("v", "V") else selector
    for version in versions:
        if number.isdigit() and version.number == int(number):
            return _ref(dataset, version)
    matches = [v for v in versions if len(selector) >= 6 and v.id.startswith(selector.lower())]
    if len(matches) == 1:
        return _ref(dataset, matches[0])
    listed = ", ".join(f"v{v.number} ({v.id[:12]})" for v in versions)
    raise DatasetError(f"Dataset {name!r} has no version {selector!r} (versions: {listed}).")


def resolve_arg(engine: Engine, settings: Settings, arg: str) -> VersionRef:
    """What `--dataset` accepts: NAME[@version] from the DB, a shipped dataset name (imported on
    first use), or a PATH to a manifest folder (imported when its content is new)."""
    path = Path(arg)
    if "@" not in arg and (path.is_dir() or path.suffix in (".jsonl", ".yaml", ".yml")):
        if not path.exists():
            raise DatasetError(f"No such dataset folder or manifest: {arg}")
        folder = path if path.is_dir() else path.parent
        return import_path(engine, path, folder.resolve().name)[0]
    name = arg.partition("@")[0]
    with Session(engine) as session:
        exists = session.exec(select(EvalDataset.id).where(EvalDataset.name == name)).first()
        if exists is not None:
            return resolve(session, arg)
    shipped = datasets_dir(settings) / name
    if shipped.is_dir():
        import_path(engine, shipped, name, note="shipped dataset, imported on first use")
    with Session(engine) as session:
        return resolve(session, arg)


def load_cases(session: Session, version_id: str) -> list[LoadedCase]:
    rows = session.exec(
        select(EvalCase, EvalImage)
        .join(EvalImage, col(EvalImage.sha256) == col(EvalCase.image_sha256))
        .where(EvalCase.version_id == version_id)
        .order_by(col(EvalCase.key))
    ).all()
    out = []
    for case, image in rows:
        spec = CaseSpec(
            id=case.key,
            image="",
            gold=case.gold,
            criticality=case.criticality,
            tags=case.tags,
            source=case.source,
            origin=case.origin,
        )
        out.append(LoadedCase(case.key, spec, image.data, image.sha256, case.added_in))
    return out


def export(engine: Engine, ref: str, out_dir: Path) -> tuple[VersionRef, Path]:
    """Write a version as manifest.jsonl + images/ (importing it back gives the same hash)."""
    with Session(engine) as session:
        version = resolve(session, ref)
        cases = load_cases(session, version.version_id)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise DatasetError(f"{out_dir} is not empty; export into a new folder.")
    manifest = write_manifest(out_dir, [(c.spec, c.image) for c in cases])
    return version, manifest


def list_datasets(session: Session) -> list[dict[str, Any]]:
    """Every dataset with its versions, newest last."""
    out = []
    for dataset in session.exec(select(EvalDataset).order_by(col(EvalDataset.name))).all():
        versions = session.exec(
            select(EvalDatasetVersion)
            .where(EvalDatasetVersion.dataset_id == dataset.id)
            .order_by(col(EvalDatasetVersion.number))
        ).all()
        out.append(
            {
                "name": dataset.name,
                "versions": [
                    {
                        "version": f"v{v.number}",
                        "hash": v.id,
                        "cases": v.case_count,
                        "parent": v.parent_id,
                        "created_at": v.created_at.isoformat(),
                        "created_from": v.created_from,
                        "note": v.note,
                        "added_cases": _added_count(session, v.id),
                    }
                    for v in versions
                ],
            }
        )
    return out


def _added_count(session: Session, version_id: str) -> int:
    """Cases new or changed in this version."""
    stmt = select(func.count()).where(
        EvalCase.version_id == version_id, EvalCase.added_in == version_id
    )
    return int(session.exec(stmt).one())
