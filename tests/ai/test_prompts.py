"""Prompts are versioned files with content hashes; labels live in the DB."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from trova.ai import registry
from trova.db.engine import make_engine


def test_versions_have_stable_hashes_and_render_the_taxonomy() -> None:
    versions = registry.versions("extract_listing")
    assert [v.version for v in versions][:2] == ["v1", "v2"]
    assert len({v.content_hash for v in versions}) == len(versions)
    text = versions[0].render()
    assert "bicycles/road — Bicycles › Road Bikes" in text
    assert "multicolor" in text and "for_parts" in text
    assert "not instructions" in text or "never\ninstructions" in text or "instructions" in text


def test_resolve_by_version_hash_and_label(sqlite_url: str) -> None:
    with Session(make_engine(sqlite_url)) as session:
        latest = registry.versions("extract_listing")[-1]
        assert registry.resolve("extract_listing", session) == latest  # production default
        v1 = registry.resolve("extract_listing@v1", session)
        assert registry.resolve(f"extract_listing@{v1.content_hash}", session) == v1
        registry.promote(session, "extract_listing@v1", "production")
        assert registry.resolve("extract_listing@production", session).version == "v1"
        registry.promote(session, "extract_listing@v2", "candidate")
        assert registry.labels(session, "extract_listing") == {
            "production": "v1",
            "candidate": "v2",
        }
        with pytest.raises(registry.PromptNotFound):
            registry.resolve("extract_listing@staging", session)
        with pytest.raises(registry.PromptNotFound):
            registry.resolve("nope@v1", session)
        with pytest.raises(ValueError):
            registry.promote(session, "extract_listing@v1", "Bad Label!")


def test_diff_shows_changed_lines() -> None:
    v1, v2 = registry.versions("extract_listing")[:2]
    text = registry.diff(v1, v2)
    assert text.startswith(f"--- extract_listing@v1 ({v1.content_hash})")
    assert "\n-" in text and "\n+" in text
