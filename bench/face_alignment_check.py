"""One-off check (issue 12): SFace 1:1 separation on 736 LFW photos of 260 people under three alignments.

Run: ``PYTHONPATH=layers:. .venv/bin/python bench/face_alignment_check.py`` (about 2.5 minutes on
the shared machine). Reported in docs/face-matching.md section 10; not part of ``make bench``.
"""

import time
from pathlib import Path

import cv2
import numpy as np

from gridgate.faces.encoders import _SFACE_TEMPLATE, SFACE_ENCODER, similarity_transform
from gridgate.faces.images import decode_image
from gridgate.faces.models import SFACE, YUNET, model_path
from gridgate.faces.pipeline import DEFAULT_POLICY, choose_face, detect_faces, face_landmarks

root = Path("/work/shared/testdata/faces_lfw")
people = [p for p in sorted(root.iterdir()) if len(list(p.iterdir())) >= 2][:260]
rec = cv2.FaceRecognizerSF.create(str(model_path(SFACE)), "")
det = cv2.FaceDetectorYN.create(str(model_path(YUNET)), "", (150, 150), 0.5, 0.3, 50)
ids: list[str] = []
A: list[np.ndarray] = []
B: list[np.ndarray] = []
C: list[np.ndarray] = []
t = time.perf_counter()
for p in people:
    for f in sorted(p.iterdir())[:4]:
        rgb = decode_image(f.read_bytes())
        try:
            box = choose_face(detect_faces(rgb, DEFAULT_POLICY), DEFAULT_POLICY)
        except Exception:
            continue
        lm = face_landmarks(rgb, box)
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        h, w = rgb.shape[:2]
        det.setInputSize((w, h))
        _, faces = det.detect(bgr)
        if faces is None:
            continue
        face: np.ndarray = max(faces, key=lambda r: float(r[2]))

        def feat(img):
            v = np.asarray(rec.feature(img)).reshape(-1)
            return v / np.linalg.norm(v)

        a = SFACE_ENCODER.encode(rgb, lm)
        m = similarity_transform(lm.points[:2], _SFACE_TEMPLATE[:2])
        b = feat(cv2.warpAffine(bgr, m, (112, 112)))
        c = feat(rec.alignCrop(bgr, face))
        ids.append(p.name)
        A.append(a)
        B.append(b)
        C.append(c)
print(len(ids), time.perf_counter() - t)
labels = np.array(ids)
same = labels[:, None] == labels[None, :]
iu = np.triu_indices(len(labels), 1)
for name, X in (("eyes+nose(base)", A), ("eyes only", B), ("yunet 5pt alignCrop", C)):
    M = np.array(X)
    d = np.sqrt(np.maximum(2 - 2 * M @ M.T, 0))[iu]
    s = same[iu]
    imp = np.sort(d[~s])
    thr = imp[int(0.001 * len(imp))]
    print(
        name,
        f"genuine median {np.median(d[s]):.3f}",
        f"TAR@FAR0.1% {(d[s] < thr).mean():.3f}",
        "pairs",
        s.sum(),
        (~s).sum(),
    )
