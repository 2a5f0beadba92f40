"""A real Prometheus (Debian package) scrapes a running Trova with the documented config."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
import yaml

from tests.ops.conftest import MakeCall
from trova.app import create_app
from trova.config import Settings

PROMETHEUS = shutil.which("prometheus")
CONFIG = Path(__file__).resolve().parents[2] / "src" / "trova" / "ops" / "prometheus.example.yml"
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None, reason="prometheus not installed (apt-get install prometheus)"
)


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def trova_url(settings: Settings) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "Trova did not start"
        time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def test_prometheus_scrapes_ai_call_counters(
    trova_url: str, make_call: MakeCall, tmp_path: Path
) -> None:
    for _ in range(3):
        make_call()
    config = yaml.safe_load(CONFIG.read_text())
    job = config["scrape_configs"][0]
    job["scrape_interval"] = config["global"]["scrape_interval"] = "1s"
    job["scrape_timeout"] = "1s"
    job["static_configs"][0]["targets"] = [trova_url.removeprefix("http://")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = _free_port()
    assert PROMETHEUS is not None
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        query = f"http://127.0.0.1:{port}/api/v1/query"
        found: list[dict] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not found:
            time.sleep(0.5)
            try:
                r = httpx.get(query, params={"query": 'trova_ai_calls_total{status="ok"}'})
            except httpx.TransportError:
                continue
            if r.status_code == 200:
                found = r.json()["data"]["result"]
        assert found, "Prometheus never scraped trova_ai_calls_total"
        sample = found[0]
        assert sample["metric"]["job"] == "trova" and sample["metric"]["provider"] == "openai"
        assert float(sample["value"][1]) == 3
        up = httpx.get(query, params={"query": "up"}).json()["data"]["result"]
        assert [float(u["value"][1]) for u in up] == [1.0]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
