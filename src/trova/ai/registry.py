"""Versioned prompts: template files under ai/prompts/<name>/<version>.md, labels in the DB.

A prompt version is a file; its identity is name + version + content hash. Labels
(`production`, `candidate`, …) point at versions and live in the `prompt_labels` table, so a
promotion is a data change with a timestamp, not a deploy. Without a label row, `production`
means the highest version on disk.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import jinja2
from sqlmodel import Session, select

from trova.ai.models import PromptLabel
from trova.ai.taxonomy import taxonomy
from trova.db._time import utcnow

DEFAULT_PROMPT = "extract_listing"
_VERSION = re.compile(r"v(\d+)")


class PromptNotFound(LookupError):
    pass


@dataclass(frozen=True)
class PromptVersion:
    name: str
    version: str  # "v1"
    source: str  # the template text
    content_hash: str  # sha256 of the source, first 12 hex digits

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def render(self) -> str:
        """The system prompt, with the taxonomy injected."""
        tax = taxonomy()
        template = _env().from_string(self.source)
        return template.render(
            categories=list(tax.categories.values()),
            conditions=list(tax.conditions),
            colors=list(tax.colors),
        ).strip()


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


def _root() -> object:
    return files("trova.ai").joinpath("prompts")


def prompt_names() -> list[str]:
    root = files("trova.ai").joinpath("prompts")
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_"))


def versions(name: str) -> list[PromptVersion]:
    """Every version of a prompt on disk, oldest first."""
    folder = files("trova.ai").joinpath("prompts").joinpath(name)
    if not folder.is_dir():
        raise PromptNotFound(f"No prompt named {name!r}. Known: {', '.join(prompt_names())}.")
    found = []
    for entry in folder.iterdir():
        match = _VERSION.fullmatch(entry.name.removesuffix(".md"))
        if entry.name.endswith(".md") and match:
            source = entry.read_text("utf-8")
            digest = hashlib.sha256(source.encode()).hexdigest()[:12]
            found.append(
                (int(match.group(1)), PromptVersion(name, entry.name[:-3], source, digest))
            )
    return [v for _, v in sorted(found, key=lambda pair: pair[0])]


def labels(session: Session, name: str) -> dict[str, str]:
    """label -> version for a prompt, including the implicit production default."""
    rows = session.exec(select(PromptLabel).where(PromptLabel.name == name)).all()
    result = {row.label: row.version for row in rows}
    if "production" not in result:
        all_versions = versions(name)
        if all_versions:
            result["production"] = all_versions[-1].version
    return result


def resolve(ref: str | None, session: Session | None = None) -> PromptVersion:
    """Find a prompt by "name", "name@v2", "name@<label>" or "name@<hash>" (default: production)."""
    ref = (ref or DEFAULT_PROMPT).strip()
    name, _, selector = ref.partition("@")
    name = name or DEFAULT_PROMPT
    all_versions = versions(name)
    selector = selector or "production"
    for version in all_versions:
        if selector in (version.version, version.content_hash):
            return version
    if session is not None:
        version_name = labels(session, name).get(selector)
    elif selector == "production":
        version_name = all_versions[-1].version if all_versions else None
    else:
        version_name = None
    for version in all_versions:
        if version.version == version_name:
            return version
    known = ", ".join(v.version for v in all_versions)
    raise PromptNotFound(
        f"No version or label {selector!r} for prompt {name!r} (versions: {known})."
    )


def promote(session: Session, ref: str, label: str) -> PromptVersion:
    """Point `label` of the prompt at the version `ref` names."""
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,39}", label):
        raise ValueError("A label is lowercase letters, digits, '-' or '_' (e.g. production).")
    version = resolve(ref, session)
    row = session.get(PromptLabel, (version.name, label))
    if row is None:
        row = PromptLabel(
            name=version.name,
            label=label,
            version=version.version,
            content_hash=version.content_hash,
        )
    row.version, row.content_hash, row.updated_at = version.version, version.content_hash, utcnow()
    session.add(row)
    session.commit()
    return version


def diff(a: PromptVersion, b: PromptVersion) -> str:
    return "".join(
        difflib.unified_diff(
            a.source.splitlines(keepends=True),
            b.source.splitlines(keepends=True),
            fromfile=f"{a.ref} ({a.content_hash})",
            tofile=f"{b.ref} ({b.content_hash})",
        )
    )
