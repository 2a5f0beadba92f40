"""Fixtures for the buyer assistant: no real model requests, a database seeded with the agent
eval catalogue, scripted pydantic-ai models."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models import override_allow_model_requests
from pydantic_ai.models.function import AgentInfo, FunctionModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from trova.assistant.agent import Assistant
from trova.assistant.evals import seed
from trova.config import Settings
from trova.db.engine import make_engine
from trova.marketplace.models import Listing

INJECTED_TITLE = "Road bike, 50 cm, great deal"


@pytest.fixture(autouse=True)
def _no_model_requests() -> Iterator[None]:
    """Only FunctionModel/TestModel may answer: a real provider request fails the test."""
    with override_allow_model_requests(False):
        yield


@pytest.fixture
def asettings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        secret_key="t",
        run_workers=False,
        assistant_timeout_s=5,
    )


@pytest.fixture
def seeded(asettings: Settings) -> Iterator[tuple[Engine, int]]:
    """(engine, buyer id) of a database holding evals/agent/listings.yaml."""
    engine = make_engine(asettings.db_url)
    buyer_id = seed(engine)
    yield engine, buyer_id
    engine.dispose()


def listing_id(engine: Engine, title: str) -> int:
    with Session(engine) as session:
        found = session.exec(select(Listing).where(Listing.title == title)).one()
        assert found.id is not None
        return found.id


Step = Callable[[list[ModelMessage], AgentInfo], ModelResponse]


def make_assistant(settings: Settings, engine: Engine, step: Step, **kwargs: Any) -> Assistant:
    return Assistant(settings, engine, model=FunctionModel(step, model_name="test-model"), **kwargs)


def call(name: str, **args: Any) -> ModelResponse:
    return ModelResponse(parts=[ToolCallPart(name, args)])


def text(content: str) -> ModelResponse:
    return ModelResponse(parts=[TextPart(content)])
