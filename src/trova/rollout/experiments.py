"""Experiments: create, start, ramp, pause a variant, stop. Services only, no HTTP.

Lifecycle: draft → running → stopped (a stopped experiment stays stopped: start a new one, so
every result belongs to one uninterrupted randomization). One running experiment per surface.

Ramps: a ramp changes the weights new units are hashed into. Units already assigned keep
their variant because the first assignment is stored (rollout_exposures) and always wins; so a
ramp from 10 % to 50 % only moves *new* units. Every change is kept in rollout_ramps with the
effective split, which the sample-ratio-mismatch check replays.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from trova.ai.providers import parse_chain
from trova.ai.registry import PromptNotFound, resolve
from trova.db._time import utcnow
from trova.rollout.models import (
    OFF,
    SURFACE_PREFILL,
    Experiment,
    ExperimentStatus,
    Ramp,
    Variant,
    VariantStatus,
)

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,79}")
_PROMPT_REF = re.compile(r"[a-z_][a-z0-9_]*(@[\w.-]+)?")
_PROVIDER_KINDS = ("local", "fake", "openai", "anthropic", "openai-compatible")
SURFACES = (SURFACE_PREFILL,)


class ExperimentError(ValueError):
    """A request that breaks an experiment rule; the message is one sentence for a person."""


class ExperimentNotFound(ExperimentError, LookupError):
    pass


@dataclass(frozen=True)
class VariantSpec:
    name: str
    provider: str  # "off" or a provider chain
    prompt: str | None = None
    weight: float | None = None

    @classmethod
    def parse(cls, text: str) -> VariantSpec:
        """`NAME=PROVIDER[+PROMPT]`, e.g. `off=off`, `v2=openai:gpt-4o-mini+extract_listing@v2`."""
        name, sep, rest = text.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise ExperimentError(
                f"Bad variant {text!r}: write NAME=PROVIDER[+PROMPT], e.g. control=off or "
                "v2=openai:gpt-4o-mini+extract_listing@v2."
            )
        provider, plus, prompt = rest.rpartition("+")
        if not plus or not _PROMPT_REF.fullmatch(prompt.strip()):
            provider, prompt = rest, ""
        return cls(name.strip(), provider.strip(), prompt.strip() or None)


@dataclass
class ExperimentView:
    experiment: Experiment
    variants: list[Variant]

    @property
    def control(self) -> Variant:
        return next(v for v in self.variants if v.is_control)

    def variant(self, name: str) -> Variant | None:
        return next((v for v in self.variants if v.name == name), None)


def _check_name(name: str, what: str) -> str:
    if not _NAME.fullmatch(name):
        raise ExperimentError(
            f"Bad {what} name {name!r}: use lowercase letters, digits, '-', '_' or '.' "
            "(at most 80 characters)."
        )
    return name


def check_provider(provider: str) -> str:
    """'off' or a provider chain whose every spec names a known provider."""
    if provider == OFF:
        return provider
    chain = parse_chain(provider)
    if not chain:
        raise ExperimentError("A variant needs a provider: off, local, fake or openai:<model>.")
    for spec in chain:
        kind, _, rest = spec.partition(":")
        if kind not in _PROVIDER_KINDS or (kind in ("openai", "anthropic") and not rest):
            raise ExperimentError(
                f"Unknown provider {spec!r}: use off, local, fake, openai:<model>, "
                "anthropic:<model> or openai-compatible:<model>@<base_url>."
            )
    return " -> ".join(chain)


def split_weights(specs: Sequence[VariantSpec]) -> list[float]:
    """The given weights (must add up to 100), or an even split when none is given."""
    given = [s.weight for s in specs]
    if all(w is None for w in given):
        base = math.floor(10_000 / len(specs)) / 100
        weights = [base] * len(specs)
        weights[0] = round(100 - base * (len(specs) - 1), 2)
        return weights
    if any(w is None for w in given):
        raise ExperimentError("Give a weight for every variant, or for none (an even split).")
    weights = [float(w) for w in given if w is not None]
    _check_weights(weights)
    return weights


def _check_weights(weights: Sequence[float]) -> None:
    if any(w < 0 or w > 100 for w in weights):
        raise ExperimentError("Weights are percentages between 0 and 100.")
    if abs(sum(weights) - 100) > 0.01:
        raise ExperimentError(f"Weights must add up to 100; these add up to {sum(weights):g}.")


def create(
    session: Session,
    name: str,
    variants: Sequence[VariantSpec],
    *,
    control: str | None = None,
    description: str = "",
    surface: str = SURFACE_PREFILL,
    min_effect: float = 0.05,
    max_error_rate: float | None = 0.2,
    max_empty_rate: float | None = 0.3,
    max_latency_p95_ms: int | None = 15_000,
    guardrail_window_s: int = 3600,
    guardrail_min_calls: int = 20,
) -> ExperimentView:
    """A new experiment in `draft`; the first variant is the control unless `control` says."""
    _check_name(name, "experiment")
    if surface not in SURFACES:
        raise ExperimentError(f"Unknown surface {surface!r}: use {', '.join(SURFACES)}.")
    if len(variants) < 2:
        raise ExperimentError("An experiment needs at least two variants (e.g. control=off).")
    names = [_check_name(v.name, "variant") for v in variants]
    if len(set(names)) != len(names):
        raise ExperimentError("Variant names must be different from each other.")
    control = control or names[0]
    if control not in names:
        raise ExperimentError(f"The control {control!r} is not one of the variants.")
    if not 0 < min_effect < 1:
        raise ExperimentError("The minimum effect is an absolute rate difference, e.g. 0.05.")
    if session.exec(select(Experiment).where(Experiment.name == name)).first():
        raise ExperimentError(f"An experiment named {name!r} exists already; pick another name.")
    weights = split_weights(variants)
    for spec in variants:
        if spec.prompt:
            try:
                resolve(spec.prompt, session)
            except PromptNotFound as exc:
                raise ExperimentError(str(exc)) from None
    experiment = Experiment(
        name=name,
        salt=name,
        description=description,
        surface=surface,
        min_effect=min_effect,
        max_error_rate=max_error_rate,
        max_empty_rate=max_empty_rate,
        max_latency_p95_ms=max_latency_p95_ms,
        guardrail_window_s=guardrail_window_s,
        guardrail_min_calls=guardrail_min_calls,
    )
    session.add(experiment)
    session.flush()
    assert experiment.id is not None
    rows = [
        Variant(
            experiment_id=experiment.id,
            name=spec.name,
            position=i,
            provider=check_provider(spec.provider),
            prompt=spec.prompt,
            is_control=spec.name == control,
            weight=weight,
        )
        for i, (spec, weight) in enumerate(zip(variants, weights, strict=True))
    ]
    session.add_all(rows)
    session.commit()
    return ExperimentView(experiment, rows)


# Built once (the assignment path runs them on every create flow): compiled and cached.
_BY_NAME = select(Experiment).where(Experiment.name == bindparam("name"))
_RUNNING = select(Experiment).where(
    Experiment.surface == bindparam("surface"),
    Experiment.status == ExperimentStatus.running.value,
)
_VARIANTS = (
    select(Variant)
    .where(Variant.experiment_id == bindparam("experiment_id"))
    .order_by(col(Variant.position))
)


def get(session: Session, name: str) -> ExperimentView:
    experiment = session.exec(_BY_NAME, params={"name": name}).first()
    if experiment is None:
        raise ExperimentNotFound(
            f"No experiment named {name!r}; see them with `trova experiments list`."
        )
    return _view(session, experiment)


def _view(session: Session, experiment: Experiment) -> ExperimentView:
    variants = session.exec(_VARIANTS, params={"experiment_id": experiment.id}).all()
    return ExperimentView(experiment, list(variants))


def list_all(session: Session) -> list[ExperimentView]:
    experiments = session.exec(select(Experiment).order_by(col(Experiment.id).desc())).all()
    return [_view(session, e) for e in experiments]


def running(session: Session, surface: str = SURFACE_PREFILL) -> ExperimentView | None:
    experiment = session.exec(_RUNNING, params={"surface": surface}).first()
    return _view(session, experiment) if experiment else None


def effective_allocation(variants: Sequence[Variant]) -> dict[str, float]:
    """The split new units follow: a paused arm's weight goes to the control."""
    out = {v.name: v.weight for v in variants}
    control = next(v.name for v in variants if v.is_control)
    for v in variants:
        if v.status == VariantStatus.paused.value and not v.is_control:
            out[control] += out[v.name]
            out[v.name] = 0.0
    return out


def _record(session: Session, view: ExperimentView, action: str, reason: str, at: datetime) -> None:
    assert view.experiment.id is not None
    session.add(
        Ramp(
            experiment_id=view.experiment.id,
            at=at,
            action=action,
            allocation=effective_allocation(view.variants),
            reason=reason[:500],
        )
    )


def start(session: Session, name: str, *, now: datetime | None = None) -> ExperimentView:
    view = get(session, name)
    experiment = view.experiment
    if experiment.status == ExperimentStatus.running.value:
        raise ExperimentError(f"Experiment {name!r} is already running.")
    if experiment.status == ExperimentStatus.stopped.value:
        raise ExperimentError(
            f"Experiment {name!r} was stopped; create a new one to test again "
            "(a result must come from one uninterrupted randomization)."
        )
    other = running(session, experiment.surface)
    if other is not None:
        raise ExperimentError(
            f"Experiment {other.experiment.name!r} is already running on the "
            f"{experiment.surface} surface; stop it first: "
            f"trova experiments stop {other.experiment.name}"
        )
    now = now or utcnow()
    experiment.status = ExperimentStatus.running.value
    experiment.started_at = now
    session.add(experiment)
    _record(session, view, "start", "", now)
    session.commit()
    return view


def ramp(
    session: Session,
    name: str,
    weights: dict[str, float],
    *,
    reason: str = "",
    now: datetime | None = None,
) -> ExperimentView:
    """Set new weights. Unnamed variants keep theirs, except the control, which takes the rest.

    Ramping a paused variant to a weight above zero resumes it (its guardrail window restarts).
    """
    view = get(session, name)
    if view.experiment.status == ExperimentStatus.stopped.value:
        raise ExperimentError(f"Experiment {name!r} is stopped; it cannot be ramped.")
    unknown = [k for k in weights if view.variant(k) is None]
    if unknown:
        known = ", ".join(v.name for v in view.variants)
        raise ExperimentError(f"No variant {unknown[0]!r} in {name!r}; its variants: {known}.")
    new = {v.name: weights.get(v.name, v.weight) for v in view.variants}
    control = view.control.name
    if control not in weights:
        others = sum(w for k, w in new.items() if k != control)
        if others > 100.01:
            raise ExperimentError(
                f"The variants other than the control add up to {others:g}%; "
                "weights must add up to 100."
            )
        new[control] = round(100 - others, 4)
    _check_weights(list(new.values()))
    now = now or utcnow()
    resumed = []
    for v in view.variants:
        v.weight = new[v.name]
        if v.status == VariantStatus.paused.value and v.name in weights and v.weight > 0:
            v.status, v.paused_reason, v.resumed_at = VariantStatus.active.value, None, now
            resumed.append(v.name)
        session.add(v)
    action = "resume" if resumed else "ramp"
    text = reason or ", ".join(f"{k} {w:g}%" for k, w in new.items())
    _record(session, view, action, text, now)
    session.commit()
    return view


def pause_variant(
    session: Session, name: str, variant: str, reason: str, *, now: datetime | None = None
) -> ExperimentView:
    """Send a variant's traffic to the control and record why (guardrails call this)."""
    view = get(session, name)
    target = view.variant(variant)
    if target is None:
        raise ExperimentError(f"No variant {variant!r} in {name!r}.")
    if target.is_control:
        raise ExperimentError("The control cannot be paused; stop the experiment instead.")
    if target.status == VariantStatus.paused.value:
        return view
    now = now or utcnow()
    target.status, target.paused_reason, target.paused_at = (
        VariantStatus.paused.value,
        reason[:500],
        now,
    )
    session.add(target)
    _record(session, view, "pause", f"{variant}: {reason}", now)
    session.commit()
    return view


def stop(
    session: Session, name: str, *, reason: str = "", now: datetime | None = None
) -> ExperimentView:
    """Stop: every unit gets the default prefill again; the results stay readable."""
    view = get(session, name)
    if view.experiment.status != ExperimentStatus.running.value:
        raise ExperimentError(f"Experiment {name!r} is not running.")
    now = now or utcnow()
    view.experiment.status = ExperimentStatus.stopped.value
    view.experiment.stopped_at = now
    session.add(view.experiment)
    _record(session, view, "stop", reason, now)
    session.commit()
    return view


def history(session: Session, experiment_id: int) -> list[Ramp]:
    return list(
        session.exec(
            select(Ramp).where(Ramp.experiment_id == experiment_id).order_by(col(Ramp.at))
        ).all()
    )


def describe_variant(v: Variant) -> str:
    """`off (no AI)` or `local · extract_listing@v2`."""
    if v.provider == OFF:
        return "off (no AI)"
    return f"{v.provider} · {v.prompt}" if v.prompt else v.provider


def parse_weights(pairs: Sequence[str]) -> dict[str, float]:
    """`["v2=20", "control=80"]` → {"v2": 20.0, "control": 80.0}."""
    out: dict[str, float] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        try:
            if not sep:
                raise ValueError
            out[key.strip()] = float(value.rstrip("%"))
        except ValueError:
            raise ExperimentError(
                f"Bad weight {pair!r}: write VARIANT=PERCENT, e.g. v2=20."
            ) from None
    return out
