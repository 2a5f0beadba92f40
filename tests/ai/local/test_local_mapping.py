"""The curated ImageNet -> taxonomy map, and how class probabilities become a category."""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pytest
import yaml

from trova.ai.local.classifier import imagenet_labels
from trova.ai.local.mapping import OTHER, categorize, imagenet_map
from trova.ai.taxonomy import taxonomy

LABELS = imagenet_labels()
INDEX = {name: i for i, (_wnid, name) in enumerate(LABELS)}


def test_map_file_is_valid() -> None:
    raw = yaml.safe_load(files("trova.ai.local").joinpath("imagenet_map.yaml").read_text("utf-8"))
    entries = raw["entries"]
    indices = [e["index"] for e in entries]
    assert len(indices) == len(set(indices)), "a class is listed twice"
    assert all(0 <= i <= 999 for i in indices)
    for e in entries:
        wnid, label = LABELS[e["index"]]
        assert (e["wnid"], e["label"]) == (wnid, label), f"index {e['index']} is {wnid} {label}"
        assert taxonomy().is_category(e["category"]), e
        item = e["item"]
        assert isinstance(item, str) and item == item.strip() and 2 <= len(item) <= 40, e


def test_map_covers_the_sellable_classes() -> None:
    mapping = imagenet_map()
    assert len(mapping) >= 400
    assert all(
        i >= 398 or mapping[i].category == "garden/plants" for i in mapping
    )  # 0..397: animals
    used = {m.category for m in mapping.values()}
    for top in taxonomy().top_level:
        assert any(taxonomy().top_of(c) == top.id for c in used), f"nothing maps to {top.id}"


@pytest.mark.parametrize(
    ("label", "category", "item"),
    [
        ("mountain bike", "bicycles/mountain", "mountain bike"),
        ("moped", "cars-motorcycles/motorcycles", "moped"),
        ("crash helmet", "cars-motorcycles/parts", "motorcycle helmet"),
        ("acoustic guitar", "musical-instruments/guitars", "acoustic guitar"),
        ("espresso machine", "home-kitchen/appliances", "espresso machine"),
        ("reflex camera", "electronics-cameras/cameras", "SLR camera"),
        ("laptop computer", "electronics-cameras/computers", "laptop"),
        ("power drill", "tools-diy/power-tools", "power drill"),
        ("lawn mower", "garden/garden-tools", "lawn mower"),
        ("ballpoint pen", "office-stationery/writing", "ballpoint pen"),
        ("tent", "sports-outdoors/camping", "tent"),
        ("teddy bear", "toys-games/toys", "teddy bear"),
        ("rocking chair", "furniture/seating", "rocking chair"),
        ("comic book", "books-media/books", "comic book"),
        ("sneaker", "clothing-accessories/shoes", "sneakers"),
    ],
)
def test_spot_checks(label: str, category: str, item: str) -> None:
    mapped = imagenet_map()[INDEX[label]]
    assert (mapped.category, mapped.item) == (category, item)


@pytest.mark.parametrize(
    "label", ["assault rifle", "revolver", "rifle", "tench", "Golden Retriever", "pizza", "volcano"]
)
def test_weapons_animals_food_and_scenery_are_not_mapped(label: str) -> None:
    assert INDEX[label] not in imagenet_map()


def probs(**by_label: float) -> np.ndarray:
    p = np.zeros(1000)
    for label, value in by_label.items():
        p[INDEX[label.replace("_", " ")]] = value
    rest = 1 - p.sum()
    p[p == 0] = rest / (p == 0).sum()
    return p


def test_kinds_of_guitar_add_up() -> None:
    guess = categorize(probs(electric_guitar=0.35, acoustic_guitar=0.3, banjo=0.05))
    assert guess.category == "musical-instruments/guitars"
    assert guess.confidence == pytest.approx(0.65, abs=0.01)
    assert guess.item == "electric guitar"


def test_split_between_subcategories_backs_off_to_the_top_level() -> None:
    guess = categorize(probs(acoustic_guitar=0.4, violin=0.35))
    assert guess.category == "musical-instruments"
    assert guess.confidence == pytest.approx(0.75, abs=0.01)
    assert guess.item == "acoustic guitar"
    assert [c for c, _ in guess.alternatives] == [
        "musical-instruments",
        "musical-instruments/guitars",
        "musical-instruments/strings",
    ]


def test_animals_and_food_become_other_with_low_confidence() -> None:
    for p in (probs(Golden_Retriever=0.9), probs(pizza=0.6, cheeseburger=0.3)):
        guess = categorize(p)
        assert guess.category == OTHER
        assert guess.item is None
        assert guess.confidence <= 0.3


def test_a_likely_sellable_object_beats_a_little_food() -> None:
    guess = categorize(probs(tennis_ball=0.45, lemon=0.25))
    assert guess.category == "sports-outdoors/ball-sports"


def test_alternatives_are_top_three_best_first() -> None:
    guess = categorize(probs(laptop_computer=0.5, computer_keyboard=0.2, desk=0.15))
    assert guess.category == "electronics-cameras/computers"
    assert guess.alternatives == (
        ("electronics-cameras/computers", 0.5),
        ("electronics-cameras/accessories", 0.2),
        ("furniture/tables", 0.15),
    )
