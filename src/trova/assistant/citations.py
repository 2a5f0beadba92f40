"""The answer's post-check: every listing it cites must exist; unknown ids are stripped."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlmodel import Session, col, select

from trova.marketplace.models import Listing, ListingStatus

log = logging.getLogger(__name__)

# [#42] · #42 · /listings/42 (a markdown link's target included)
CITATION = re.compile(r"\[#(\d{1,12})\]|(?<![\w&/#])#(\d{1,12})\b|/listings/(\d{1,12})\b")
_LINK_TO = re.compile(r"\[([^\]\n]{1,200})\]\(\s*(?:https?://[^)\s]*)?/listings/(\d{1,12})\s*\)")


@dataclass(frozen=True)
class CheckedAnswer:
    text: str
    cited: list[int]  # existing listings, in order of first mention
    stripped: list[int]  # ids the answer cited that do not exist (removed from the text)


def cited_ids(text: str) -> list[int]:
    """Listing ids an answer refers to, in order of first mention."""
    seen: dict[int, None] = {}
    for match in CITATION.finditer(text):
        seen.setdefault(int(next(g for g in match.groups() if g)), None)
    return list(seen)


def existing_ids(session: Session, ids: list[int]) -> set[int]:
    """Which of `ids` are listings a buyer can see (published or sold)."""
    if not ids:
        return set()
    stmt = select(Listing.id).where(
        col(Listing.id).in_(ids),
        col(Listing.status).in_([ListingStatus.published, ListingStatus.sold]),
    )
    return {i for i in session.exec(stmt) if i is not None}


def post_check(session: Session, text: str, *, trace_id: str | None = None) -> CheckedAnswer:
    """Strip citations of listings that do not exist (and log them)."""
    ids = cited_ids(text)
    known = existing_ids(session, ids)
    unknown = [i for i in ids if i not in known]
    if unknown:
        log.warning("assistant answer cited unknown listing ids %s (trace %s)", unknown, trace_id)

        def unlink(match: re.Match[str]) -> str:
            return match.group(0) if int(match.group(2)) in known else match.group(1)

        def drop(match: re.Match[str]) -> str:
            ref = int(next(g for g in match.groups() if g))
            return match.group(0) if ref in known else ""

        text = _LINK_TO.sub(unlink, text)
        text = CITATION.sub(drop, text)
        text = re.sub(r"[ \t]{2,}", " ", text)
        text = re.sub(r" +([,.;:!?)])", r"\1", text)
        text = re.sub(r"\(\s*\)", "", text)
    return CheckedAnswer(text.strip(), [i for i in ids if i in known], unknown)
