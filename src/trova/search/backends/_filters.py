"""Filter clauses on an index table that carries the listing's attributes (status, top,
category, condition, price_cents): one definition for both backends, differing only in how a
column is matched against a list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trova.search.backends.base import Filters


def attribute_filters(
    filters: Filters, *, any_of: Callable[[str, str], str]
) -> tuple[list[str], dict[str, Any]]:
    """WHERE clauses and params; `any_of(column, param)` renders "column matches a list"."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if filters.statuses:
        where.append(any_of("status", "statuses"))
        params["statuses"] = list(filters.statuses)
    if filters.category:
        where.append("top = :cat" if filters.is_top_category else "category = :cat")
        params["cat"] = filters.category
    if filters.conditions:
        where.append(any_of("condition", "conditions"))
        params["conditions"] = list(filters.conditions)
    if filters.min_price_cents is not None:
        where.append("price_cents >= :pmin")
        params["pmin"] = filters.min_price_cents
    if filters.max_price_cents is not None:
        where.append("price_cents <= :pmax")
        params["pmax"] = filters.max_price_cents
    return where, params
