"""The taxonomy (categories, conditions, colors), loaded once from taxonomy.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import yaml


@dataclass(frozen=True)
class PricePrior:
    low: float
    typical: float
    high: float


@dataclass(frozen=True)
class Category:
    id: str  # "top" or "top/sub"
    name: str
    parent: str | None = None
    price_prior: PricePrior | None = None  # set on top-level categories

    @property
    def top(self) -> str:
        return self.parent or self.id

    @property
    def label(self) -> str:
        """Human label with the parent, e.g. "Electronics & Cameras › Cameras & Lenses"."""
        if self.parent is None:
            return self.name
        return f"{taxonomy().categories[self.parent].name} › {self.name}"


@dataclass(frozen=True)
class Option:
    id: str
    name: str
    hex: str | None = None


@dataclass(frozen=True)
class Taxonomy:
    categories: dict[str, Category]  # every id, top-level and sub, in file order
    top_level: tuple[Category, ...]
    conditions: dict[str, Option]
    colors: dict[str, Option]

    def children(self, top_id: str) -> list[Category]:
        return [c for c in self.categories.values() if c.parent == top_id]

    def is_category(self, value: str) -> bool:
        return value in self.categories

    def top_of(self, category_id: str) -> str:
        return self.categories[category_id].top

    def price_prior(self, category_id: str) -> PricePrior:
        """The price band of the category's top level (falls back to "other")."""
        cat = self.categories.get(category_id) or self.categories["other"]
        prior = self.categories[cat.top].price_prior or self.categories["other"].price_prior
        assert prior is not None
        return prior


@cache
def taxonomy() -> Taxonomy:
    """Parse the bundled taxonomy.yaml (cached for the process)."""
    raw = yaml.safe_load(files("trova.ai").joinpath("taxonomy.yaml").read_text("utf-8"))
    categories: dict[str, Category] = {}
    top: list[Category] = []
    for entry in raw["categories"]:
        prior = entry.get("price_prior_eur")
        parent = Category(
            id=entry["id"], name=entry["name"], price_prior=PricePrior(**prior) if prior else None
        )
        categories[parent.id] = parent
        top.append(parent)
        for sub in entry.get("subcategories") or []:
            child = Category(id=f"{parent.id}/{sub['id']}", name=sub["name"], parent=parent.id)
            categories[child.id] = child
    conditions = {c["id"]: Option(c["id"], c["name"]) for c in raw["conditions"]}
    colors = {c["id"]: Option(c["id"], c["name"], c.get("hex")) for c in raw["colors"]}
    return Taxonomy(categories, tuple(top), conditions, colors)


CATEGORY_IDS: tuple[str, ...] = tuple(taxonomy().categories)
CONDITION_IDS: tuple[str, ...] = tuple(taxonomy().conditions)
COLOR_IDS: tuple[str, ...] = tuple(taxonomy().colors)
