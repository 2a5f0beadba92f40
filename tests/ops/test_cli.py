"""`trova annotate` and `trova ops`: JSON for scripts, one-line errors, exit codes."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner, Result

from tests.helpers.images import jpeg_bytes
from tests.ops.conftest import MakeCall
from trova.accounts import service as accounts
from trova.ai.models import CallStatus
from trova.cli import app
from trova.config import Settings
from trova.media.storage import LocalStorage, image_key, new_image_id
from trova.ops import annotation
from trova.ops.models import AnnotationQueue

runner = CliRunner()


def invoke(engine: Engine, args: list[str]) -> Result:
    """Run a CLI command with the test's pooled connections closed first.

    The CLI migrates with Alembic (stock sqlite3) while the app engine runs on sqlean: two
    SQLite libraries holding the same WAL file open in one process break each other's locks.
    """
    engine.dispose()
    return runner.invoke(app, args)


@pytest.fixture
def db_url(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TROVA_DATABASE_URL", sqlite_url)
    return sqlite_url


def test_create_list_and_export_a_queue(
    engine: Engine, make_call: MakeCall, settings: Settings
) -> None:
    settings.ensure_dirs()
    photo = new_image_id()
    LocalStorage(settings.images_dir).put(image_key(photo, "full"), jpeg_bytes())
    call = make_call(status=CallStatus.error, image_ref=photo, draft=None)
    make_call()  # ok: not an error, not sampled
    r = invoke(engine, ["annotate", "create", "fails", "--rule", "errors", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["sampled"] == 1
    r = invoke(engine, ["annotate", "queues", "--json"])
    assert r.exit_code == 0, (r.output, r.exception)
    [queue] = json.loads(r.stdout)
    assert (queue["name"], queue["items"], queue["done"]) == ("fails", 1, 0)

    with Session(engine, expire_on_commit=False) as session:
        user = accounts.register(
            session, email=f"a-{uuid.uuid4().hex[:6]}@example.com", password="pw-123456", name="A"
        )
        q = annotation.get_queue(session, "fails")
        assert isinstance(q, AnnotationQueue)
        item = annotation.next_item(session, q, user)
        assert item is not None and item.ai_call_id == call.id
        form = {f"verdict_{f}": "wrong" for f in annotation.FIELDS}
        form.update(value_title="Claw hammer", value_category="tools-diy/hand-tools")
        annotation.save_annotation(session, item, user, annotation.parse_verdicts(form))

    r = invoke(
        engine, ["annotate", "export", "--queue", "fails", "--to-dataset", "hard-cases", "--json"]
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["version"], out["cases"], out["created"]) == ("hard-cases@v1", 1, True)
    r = invoke(engine, ["annotate", "export", "--queue", "fails", "--to-dataset", "hard-cases"])
    assert r.exit_code == 1 and "Nothing to promote" in r.stderr and "Traceback" not in r.output


def test_errors_are_one_line(engine: Engine) -> None:
    r = invoke(engine, ["annotate", "export", "--queue", "nope", "--to-dataset", "x"])
    assert r.exit_code == 1 and r.stderr.strip() == "Error: No annotation queue 'nope'."
    r = invoke(engine, ["annotate", "create", "x", "--rule", "vibes"])
    assert r.exit_code == 2 and "Bad sampling rule" in r.stderr


def test_ops_refresh_and_alerts(engine: Engine, make_call: MakeCall) -> None:
    for _ in range(3):
        make_call(status=CallStatus.error)
    r = invoke(engine, ["ops", "refresh", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["hours"] >= 1
    r = invoke(
        engine,
        [
            "ops",
            "alert-add",
            "errs",
            "--metric",
            "error_rate",
            "--threshold",
            "0.5",
            "--min-calls",
            "1",
        ],
    )
    assert r.exit_code == 0, r.output
    r = invoke(engine, ["ops", "alerts", "--evaluate", "--json"])
    [rule] = json.loads(r.stdout)
    assert rule["state"] == "firing" and rule["value"] == 1.0
