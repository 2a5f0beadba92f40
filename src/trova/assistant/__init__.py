"""The buyer assistant (issue G): a pydantic-ai agent over Trova's listings.

- `agent.Assistant.ask()` runs one buyer turn: tools (`tools.py`: search_listings, get_listing,
  price_stats, draft_message) on the real services, limits (rounds, tokens, timeout; a
  per-visitor rate limit via `check_rate`), the citation post-check (`citations.py`) and a stored
  trace (`export.py`: pydantic-ai's OpenTelemetry spans written to `assistant_spans`).
- `draft_message` only stores a `PendingMessage`; `pending.confirm()` delivers it through
  `trova.marketplace.service.send_message` when the buyer presses Confirm.
- `rollout.py`: per-tool enabled flag and sticky traffic share. `evals.py`: YAML scenarios in
  evals/agent/ with assertions, offline through `scripted.py` models. `pages.py` / `api.py` /
  `cli.py`: /assistant, /ops/traces, /ops/assistant/{tools,evals}, /api/assistant, `trova
  assistant`.
"""
