"""Jinja2 environment for the pages: autoescaping on, taxonomy and helpers as globals."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from trova.ai.taxonomy import taxonomy
from trova.db._time import utcnow
from trova.deps import csrf_token
from trova.marketplace.forms import format_price
from trova.marketplace.photos import photo_url

TEMPLATES_DIR = Path(__file__).parent / "templates"


def age(when: datetime | None) -> str:
    """'just now', '5 min ago', '3 h ago', '2 days ago', '4 weeks ago'."""
    if when is None:
        return ""
    seconds = (utcnow() - when).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    if days < 14:
        return "1 day ago" if days == 1 else f"{days} days ago"
    if days < 60:
        return f"{days // 7} weeks ago"
    return when.strftime("%d %b %Y")


def category_label(category_id: str | None) -> str:
    cat = taxonomy().categories.get(category_id or "")
    return cat.label if cat else ""


def category_name(category_id: str | None) -> str:
    cat = taxonomy().categories.get(category_id or "")
    return cat.name if cat else ""


def option_name(kind: str, value: str | None) -> str:
    options = taxonomy().conditions if kind == "condition" else taxonomy().colors
    opt = options.get(value or "")
    return opt.name if opt else ""


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.globals.update(
        taxonomy=taxonomy(),
        format_price=format_price,
        photo_url=photo_url,
        category_label=category_label,
        category_name=category_name,
        option_name=option_name,
        csrf_token=csrf_token,
    )
    env.filters["age"] = age
    env.filters["price"] = format_price
    return templates


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Any:
    templates: Jinja2Templates = request.app.state.templates
    context.setdefault("user", getattr(request.state, "user", None))
    return templates.TemplateResponse(request, name, context, status_code=status_code)
