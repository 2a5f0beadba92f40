"""What gets indexed for a listing (the text recipe) and how a query is read.

The recipe is part of an index version's key: changing what goes into the text means a new
version, built side by side and switched to when complete.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from trova.ai.taxonomy import taxonomy
from trova.marketplace.models import Listing

RECIPE = "r1"  # title · brand · category path · condition · colour · description[:600]
MAX_DESCRIPTION = 600

_WORD = re.compile(r"\w+", re.UNICODE)

# Words that carry no meaning in a marketplace query (English and the catalogue's other
# languages); dropped from keyword queries, never from vector queries.
_STOPWORDS_TEXT = """
    a an and are as at be by for from has have i in into is it its me my of on or our so
    some something that the their them there these this to up use used with without you your
    want need looking buy cheap
    le la les un une des de du et ou pour avec sans en au aux
    il lo gli una uno di da per con senza e del della
    der die das ein eine einen und oder für mit ohne zu von im
    el los las unos unas y o para con sin del
    o os um uma umas e ou com sem do da
    het een en voor met zonder van
    i w z na do dla bez"""


@dataclass(frozen=True)
class DocText:
    """The two fields of the full-text index and the text handed to the embedder."""

    title: str
    body: str

    @property
    def embed_text(self) -> str:
        return f"{self.title}. {self.body}" if self.body else self.title


def doc_text(listing: Listing) -> DocText:
    tax = taxonomy()
    parts: list[str] = []
    if listing.brand:
        parts.append(listing.brand)
    cat = tax.categories.get(listing.category or "")
    if cat is not None:
        parts.append(cat.label)
    if listing.condition and (opt := tax.conditions.get(listing.condition)):
        parts.append(opt.name)
    if listing.color and (opt := tax.colors.get(listing.color)):
        parts.append(opt.name)
    description = " ".join((listing.description or "").split())
    if len(description) > MAX_DESCRIPTION:
        description = description[:MAX_DESCRIPTION].rsplit(" ", 1)[0]
    if description:
        parts.append(description)
    return DocText(title=(listing.title or "").strip(), body=". ".join(parts))


def content_hash(listing: Listing) -> str:
    """Changes when anything search reads changes: text, filters or status."""
    text = doc_text(listing)
    key = "\x1f".join(
        [
            RECIPE,
            text.title,
            text.body,
            listing.category or "",
            listing.condition or "",
            str(listing.price_cents or 0),
            str(listing.status),
        ]
    )
    return hashlib.sha256(key.encode()).hexdigest()


def fold(word: str) -> str:
    """Lower case without diacritics: 'Électrique' -> 'electrique' (as FTS5 unicode61 does)."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


STOPWORDS = frozenset(fold(w) for w in _STOPWORDS_TEXT.split())


def query_terms(query: str, *, max_terms: int = 12) -> list[str]:
    """Folded word tokens of a query, stopwords dropped (unless that leaves nothing)."""
    words = [fold(w) for w in _WORD.findall(query)]
    words = [w for w in words if w and w != "_"]
    kept = [w for w in words if w not in STOPWORDS]
    return (kept or words)[:max_terms]


# ---------------------------------------------------------------- typo tolerance


def damerau_levenshtein(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance, giving up (returning limit + 1) past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        best = cur[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
            best = min(best, cur[j])
        if best > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def max_edits(word: str) -> int:
    """How many typos to forgive: none below 4 letters, one up to 7, two from 8."""
    if len(word) < 4:
        return 0
    return 1 if len(word) < 8 else 2


class Vocabulary:
    """The index's terms with document frequencies, and near-miss lookup (symmetric deletes).

    Each term is stored with its one-letter deletes; a query word is expanded to its deletes
    up to two deep, so every term within two edits shows up as a candidate, then checked with
    the real distance.
    """

    def __init__(self, terms: dict[str, int]) -> None:
        self.terms = terms
        self._by_delete: dict[str, list[str]] = {}
        for term in terms:
            if len(term) < 3 or not term.isalpha():
                continue
            for key in {term} | _deletes(term):
                self._by_delete.setdefault(key, []).append(term)

    def __len__(self) -> int:
        return len(self.terms)

    def correct(self, word: str) -> str | None:
        """The most frequent indexed term within max_edits(word) of word, if any."""
        limit = max_edits(word)
        if not limit:
            return None
        keys = {word} | _deletes(word)
        if limit > 1:
            keys |= {d2 for d1 in list(keys) for d2 in _deletes(d1)}
        candidates = {t for k in keys for t in self._by_delete.get(k, ())}
        best: tuple[int, int, str] | None = None
        for term in candidates:
            dist = damerau_levenshtein(word, term, limit)
            if dist > limit:
                continue
            rank = (dist, -self.terms[term], term)
            if best is None or rank < best:
                best = rank
        return best[2] if best else None
