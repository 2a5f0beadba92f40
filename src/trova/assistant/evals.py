"""Agent evals: scenario files (YAML) with assertions on the tools the agent used.

Every run seeds a scratch SQLite database from `evals/agent/listings.yaml`, so the real tools run
against known listings and nothing touches live data. Offline (provider `scripted`), a scenario's
`script` is replayed by a pydantic-ai FunctionModel (or, without a script, the rule-based
offline shopper runs); with a real provider the LLM decides. Results go to `assistant_eval_runs`;
each turn's trace goes to the main database (surface "eval").
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_ai.models import Model
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from trova.accounts.models import User
from trova.assistant import rollout
from trova.assistant.agent import Assistant, TurnResult, build_model
from trova.assistant.citations import cited_ids, existing_ids
from trova.assistant.models import AgentEvalRun, AgentTrace
from trova.config import Settings
from trova.db._time import utcnow
from trova.db.engine import make_engine
from trova.marketplace.models import Listing, ListingStatus, Message

ROOT = Path(__file__).resolve().parents[3]
SCENARIOS_DIR = ROOT / "evals" / "agent"
SEED_FILE = SCENARIOS_DIR / "listings.yaml"


class ScenarioError(ValueError):
    """A scenario or seed file that cannot be used; the message names the file."""


class ArgRule(BaseModel):
    """A constraint on one argument of every call to `tool`; path is dotted (filters.max_price)."""

    tool: str
    path: str
    lte: float | None = None
    gte: float | None = None
    eq: Any = None
    contains: str | None = None
    required: bool = True  # a call without the argument fails the rule

    def check(self, calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
        failures = []
        for name, args in calls:
            if name != self.tool:
                continue
            value: Any = args
            for key in self.path.split("."):
                value = value.get(key) if isinstance(value, dict) else None
            where = f"{self.tool}({self.path}={value!r})"
            if value is None:
                if self.required:
                    failures.append(f"{where}: the argument is missing")
                continue
            if self.lte is not None and not (_num(value) is not None and _num(value) <= self.lte):  # type: ignore[operator]
                failures.append(f"{where}: expected ≤ {self.lte:g}")
            if self.gte is not None and not (_num(value) is not None and _num(value) >= self.gte):  # type: ignore[operator]
                failures.append(f"{where}: expected ≥ {self.gte:g}")
            if self.eq is not None and value != self.eq:
                failures.append(f"{where}: expected {self.eq!r}")
            if self.contains is not None and self.contains.lower() not in str(value).lower():
                failures.append(f"{where}: expected it to contain {self.contains!r}")
        return failures


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class Expect(BaseModel):
    must_call: list[str] = Field(default_factory=list)
    must_not_call: list[str] = Field(default_factory=list)
    args: list[ArgRule] = Field(default_factory=list)
    only_existing_ids: bool = True  # checked on the raw answer, before the post-check strips
    min_cited: int = 0
    cited_max_price: float | None = None  # every cited listing costs at most this
    not_cited_titles: list[str] = Field(default_factory=list)  # e.g. the injected listing
    no_message_sent: bool = True  # nothing reaches a seller without the buyer's Confirm
    min_pending: int = 0
    max_pending: int | None = None
    max_rounds: int | None = None  # model requests in any one turn
    status: Literal["ok", "error", "limit", "timeout"] = "ok"
    answer_contains: list[str] = Field(default_factory=list)
    answer_not_contains: list[str] = Field(default_factory=list)


class Turn(BaseModel):
    user: str
    script: list[dict[str, Any]] | None = None


class Scenario(BaseModel):
    name: str
    description: str = ""
    logged_in: bool = True
    tools_off: list[str] = Field(default_factory=list)
    turns: list[Turn] = Field(default_factory=list)
    user: str | None = None  # shorthand for a single turn
    script: list[dict[str, Any]] | None = None
    expect: Expect = Field(default_factory=Expect)
    file: str = ""

    @model_validator(mode="after")
    def _one_form(self) -> Scenario:
        if self.user is not None:
            if self.turns:
                raise ValueError("give either `user` (one turn) or `turns`, not both")
            self.turns = [Turn(user=self.user, script=self.script)]
        if not self.turns:
            raise ValueError("a scenario needs `user` or `turns`")
        for tool in self.tools_off + self.expect.must_call + self.expect.must_not_call:
            if tool not in rollout.TOOL_NAMES:
                raise ValueError(f"unknown tool {tool!r}")
        return self


def load_scenarios(path: Path = SCENARIOS_DIR, only: str | None = None) -> list[Scenario]:
    """Scenario files (*.yaml, except the seed catalogue) from a file or directory."""
    files = [path] if path.is_file() else sorted(path.glob("*.yaml"))
    scenarios = []
    for file in files:
        if file.name == SEED_FILE.name:
            continue
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
            items = data if isinstance(data, list) else [data]
            for item in items:
                scenario = Scenario.model_validate({**item, "file": file.name})
                if only is None or only in scenario.name:
                    scenarios.append(scenario)
        except (yaml.YAMLError, ValidationError, TypeError) as exc:
            raise ScenarioError(f"{file.name}: {_first_error(exc)}") from None
    if not scenarios:
        raise ScenarioError(
            f"No scenarios found in {path}" + (f" matching {only!r}" if only else "")
        )
    return scenarios


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        return f"{where}: {err['msg']}" if where else str(err["msg"])
    return str(exc).splitlines()[0]


# ---------------------------------------------------------------- the seeded catalogue


def seed(engine: Engine, path: Path = SEED_FILE) -> int:
    """Load the eval catalogue into an empty, migrated database; returns the buyer's user id."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    now = utcnow()
    with Session(engine) as session:
        buyer = User(email=data["buyer"]["email"], name=data["buyer"]["name"], password_hash="!")
        session.add(buyer)
        sellers: dict[str, User] = {}
        for entry in data["sellers"]:
            user = User(
                email=f"{entry['key']}@eval.trova.local", name=entry["name"], password_hash="!"
            )
            sellers[entry["key"]] = user
            session.add(user)
        session.flush()
        for item in data["listings"]:
            published = now - timedelta(days=item.get("age_days", 0), minutes=len(item["title"]))
            status = ListingStatus(item.get("status", "published"))
            seller = sellers[item["seller"]]
            assert seller.id is not None
            session.add(
                Listing(
                    seller_id=seller.id,
                    title=item["title"],
                    description=item.get("description", ""),
                    category=item["category"],
                    condition=item.get("condition"),
                    brand=item.get("brand"),
                    price_cents=round(item["price_eur"] * 100),
                    status=status,
                    published_at=published,
                    sold_at=now if status == ListingStatus.sold else None,
                )
            )
        session.commit()
        assert buyer.id is not None
        return buyer.id


# ---------------------------------------------------------------- running


@dataclass
class ScenarioResult:
    name: str
    file: str
    passed: bool
    failures: list[str]
    tool_calls: list[tuple[str, dict[str, Any]]]
    answer: str
    rounds: list[int]
    trace_ids: list[str]
    pending: int
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0


@dataclass
class EvalReport:
    run_id: int | None
    provider: str
    results: list[ScenarioResult] = field(default_factory=list)
    duration_ms: int = 0

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "provider": self.provider,
            "scenarios": len(self.results),
            "passed": self.passed,
            "failed": self.failed,
            "duration_ms": self.duration_ms,
            "results": [asdict(r) for r in self.results],
        }


def check(
    scenario: Scenario,
    turns: list[TurnResult],
    *,
    session: Session,
    messages_sent: int,
) -> list[str]:
    """Every assertion of the scenario that failed, as sentences."""
    exp = scenario.expect
    failures: list[str] = []
    calls = [call for turn in turns for call in turn.tools_called]
    called = {name for name, _ in calls}
    failures += [f"expected a call to {t}" for t in exp.must_call if t not in called]
    failures += [f"{t} must not be called" for t in exp.must_not_call if t in called]
    for rule in exp.args:
        failures += rule.check(calls)
    final = turns[-1]
    raw_ids = cited_ids(final.raw_answer)
    if exp.only_existing_ids:
        missing = sorted(set(raw_ids) - existing_ids(session, raw_ids))
        if missing:
            failures.append(f"the answer cites listings that do not exist: {missing}")
    if len(final.cited) < exp.min_cited:
        failures.append(f"expected at least {exp.min_cited} cited listing(s), got {final.cited}")
    listings = {
        lst.id: lst for lst in session.exec(select(Listing).where(col(Listing.id).in_(final.cited)))
    }
    if exp.cited_max_price is not None:
        for lid, lst in listings.items():
            if lst.price_cents is None or lst.price_cents > exp.cited_max_price * 100:
                failures.append(f"cited [#{lid}] costs more than €{exp.cited_max_price:g}")
    for title in exp.not_cited_titles:
        for lid, lst in listings.items():
            if title.lower() in lst.title.lower():
                failures.append(f"cited [#{lid}] ({lst.title!r}), which it should not")
    if exp.no_message_sent and messages_sent:
        failures.append(f"{messages_sent} message(s) reached sellers without a confirmation")
    pending = sum(len(t.pending_ids) for t in turns)
    if pending < exp.min_pending:
        failures.append(f"expected at least {exp.min_pending} drafted message(s), got {pending}")
    if exp.max_pending is not None and pending > exp.max_pending:
        failures.append(f"expected at most {exp.max_pending} drafted message(s), got {pending}")
    if exp.max_rounds is not None:
        over = [t.rounds for t in turns if t.rounds > exp.max_rounds]
        if over:
            failures.append(f"took {max(over)} rounds; at most {exp.max_rounds} allowed")
    for turn in turns:
        if turn.status != exp.status:
            failures.append(f"turn ended with status {turn.status!r}, expected {exp.status!r}")
    answer = final.answer.lower()
    failures += [
        f"the answer should mention {s!r}" for s in exp.answer_contains if s.lower() not in answer
    ]
    failures += [
        f"the answer should not mention {s!r}"
        for s in exp.answer_not_contains
        if s.lower() in answer
    ]
    return failures


async def run_scenario(
    scenario: Scenario,
    *,
    settings: Settings,
    engine: Engine,
    trace_engine: Engine,
    buyer_id: int,
    provider: str,
) -> ScenarioResult:
    """Run one scenario's turns against the seeded `engine` and check its assertions."""
    model: Model
    if provider == "scripted" and any(t.script for t in scenario.turns):
        from trova.assistant.scripted import replay_model

        model = replay_model([t.script or [] for t in scenario.turns])
    else:
        model = build_model(provider, settings)
    assistant = Assistant(settings, engine, model=model, spec=provider, trace_engine=trace_engine)
    started = time.perf_counter()
    with Session(engine) as session:
        for tool in rollout.TOOL_NAMES:
            rollout.set_tool(session, tool, enabled=tool not in scenario.tools_off, by="eval")
        before = session.exec(select(func.count()).select_from(Message)).one()
    turns: list[TurnResult] = []
    conversation: str | None = None
    try:
        for turn in scenario.turns:
            result = await assistant.ask(
                turn.user,
                conversation_id=conversation,
                user_id=buyer_id if scenario.logged_in else None,
                visitor_id=f"eval:{scenario.name}"[:64],
                surface="eval",
            )
            conversation = result.conversation_id
            turns.append(result)
    finally:
        assistant.close()
    with Session(engine) as session:
        sent = session.exec(select(func.count()).select_from(Message)).one() - before
        failures = check(scenario, turns, session=session, messages_sent=int(sent))
    with Session(trace_engine) as session:
        traces = [session.get(AgentTrace, t.trace_id) for t in turns]
    return ScenarioResult(
        name=scenario.name,
        file=scenario.file,
        passed=not failures,
        failures=failures,
        tool_calls=[c for t in turns for c in t.tools_called],
        answer=turns[-1].answer,
        rounds=[t.rounds for t in turns],
        trace_ids=[t.trace_id for t in turns],
        pending=sum(len(t.pending_ids) for t in turns),
        tokens_in=sum(t.tokens_in for t in traces if t),
        tokens_out=sum(t.tokens_out for t in traces if t),
        cost_usd=round(sum(t.cost_usd for t in traces if t), 6),
        latency_ms=int((time.perf_counter() - started) * 1000),
    )


async def run_eval(
    scenarios: list[Scenario],
    *,
    settings: Settings,
    store_engine: Engine,
    provider: str = "scripted",
    seed_file: Path = SEED_FILE,
    on_result: Callable[[ScenarioResult], None] | None = None,
) -> EvalReport:
    """Run scenarios on a freshly seeded scratch database; store the run in `store_engine`."""
    from trova.db.migrate import upgrade

    build_model(provider, settings)  # a bad spec or a missing key fails before any work
    started = time.perf_counter()
    report = EvalReport(run_id=None, provider=provider)
    with tempfile.TemporaryDirectory(prefix="trova-agent-eval-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'eval.db'}"
        upgrade(url)
        engine = make_engine(url)
        try:
            buyer_id = seed(engine, seed_file)
            for scenario in scenarios:
                result = await run_scenario(
                    scenario,
                    settings=settings,
                    engine=engine,
                    trace_engine=store_engine,
                    buyer_id=buyer_id,
                    provider=provider,
                )
                report.results.append(result)
                if on_result:
                    on_result(result)
        finally:
            engine.dispose()
    report.duration_ms = int((time.perf_counter() - started) * 1000)
    with Session(store_engine) as session:
        row = AgentEvalRun(
            provider_spec=provider[:300],
            scenarios=len(report.results),
            passed=report.passed,
            failed=report.failed,
            duration_ms=report.duration_ms,
            tokens_in=sum(r.tokens_in for r in report.results),
            tokens_out=sum(r.tokens_out for r in report.results),
            cost_usd=round(sum(r.cost_usd for r in report.results), 6),
            results=[asdict(r) for r in report.results],
        )
        session.add(row)
        session.commit()
        report.run_id = row.id
    return report
