"""A self-contained HTML report of a run (optionally against another): inline CSS, inline SVG bar
charts, case photos as small base64 thumbnails. One file to attach to a PR or open offline."""

from __future__ import annotations

import base64
import io
from functools import cache
from importlib.resources import files
from typing import Any

import jinja2
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session

from trova.ai.taxonomy import taxonomy
from trova.evals import metrics as m
from trova.evals import store
from trova.evals.compare import compare
from trova.evals.datasets import load_cases
from trova.evals.metrics import NEAR_COLORS

CHART_METRICS = (
    "category_accuracy",
    "category_top3",
    "category_partial",
    "color_accuracy",
    "brand_accuracy",
    "title_relevance",
    "description_relevance",
    "price_in_range",
    "validity",
    "overall",
    "brand_hallucination",
    "empty_field_rate",
)
MAX_ROWS = 150


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["pct"] = lambda v: "—" if v is None else f"{100 * v:.1f}%"
    env.filters["num"] = lambda v, d=3: "—" if v is None else f"{v:.{d}f}"
    source = files("trova.evals").joinpath("report.html.j2").read_text("utf-8")
    return env.from_string(source)


def thumbnail(data: bytes, side: int = 112) -> str:
    """A data: URI of a small JPEG of the photo."""
    with Image.open(io.BytesIO(data)) as opened:
        img = opened.convert("RGB")
    img.thumbnail((side, side))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=72)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _category_label(cat: str | None) -> str:
    if not cat:
        return "—"
    found = taxonomy().categories.get(cat)
    return found.label if found else cat


def _cases(session: Session, run_id: str, version_id: str) -> list[dict[str, Any]]:
    """Rows for the failing-cases table (first trial), worst overall first."""
    loaded = {c.key: c for c in load_cases(session, version_id)}
    out = []
    for r in store.results(session, run_id):
        if r.trial != 0 or r.case_key not in loaded:
            continue
        case = loaded[r.case_key]
        gold = case.spec.gold
        s = r.scores
        checks = {f: m.correct(s, f) for f in ("category", "color", "title", "brand", "price")}
        if all(v is not False for v in checks.values()) and r.status == "ok":
            continue
        d = r.draft or {}
        out.append(
            {
                "key": r.case_key,
                "thumb": thumbnail(case.image),
                "status": r.status,
                "error": r.error,
                "overall": s.get("overall"),
                "checks": checks,
                "gold": {
                    "category": _category_label(gold.category),
                    "accept": [_category_label(c) for c in gold.category_accept],
                    "item": gold.item,
                    "color": gold.color,
                    "brand": gold.brand,
                    "price": gold.price_range_eur,
                },
                "pred": {
                    "category": _category_label(d.get("category")),
                    "alternatives": [
                        _category_label(c) for c in d.get("category_alternatives", [])
                    ],
                    "title": d.get("title"),
                    "color": d.get("color"),
                    "brand": d.get("brand"),
                    "price": d.get("price_eur"),
                },
            }
        )
    out.sort(key=lambda row: (row["overall"] if row["overall"] is not None else -1, row["key"]))
    return out[:MAX_ROWS]


def render(engine: Engine, run_ref: str, compare_ref: str | None = None) -> str:
    """The report HTML for RUN (and the comparison of COMPARE -> RUN when given)."""
    with Session(engine) as session:
        run = store.get_run(session, run_ref)
        data = store.run_data(session, run)
        other = store.load(session, compare_ref) if compare_ref else None
        cases = _cases(session, run.id, run.dataset_version_id)
    comparison = compare(other, data) if other is not None else None
    bars = []
    for name in CHART_METRICS:
        value = data.metrics.get(name)
        base = other.metrics.get(name) if other is not None else None
        if value is None and base is None:
            continue
        bars.append(
            {
                "name": name,
                "value": value,
                "base": base,
                "lower_better": name in m.LOWER_IS_BETTER,
            }
        )
    return _template().render(
        run=data,
        other=other,
        comparison=comparison,
        bars=bars,
        cases=cases,
        by_tag=data.metrics.get("by_tag", {}),
        empty_rate=data.metrics.get("empty_rate", {}),
        near_colors=sorted((sorted(k), v) for k, v in NEAR_COLORS.items()),
        max_rows=MAX_ROWS,
    )
