"""QR decode rate on real camera photos (``../shared/testdata/qr_photos``, each .png with its .txt).

Reports three readers on the same photos, so the ladder's gain is visible: zxing-cpp alone (one
call, its defaults), OpenCV's QRCodeDetector alone, and `gridgate.qr.decode.decode_qr` (the
ladder the gate uses). A photo counts as read only when the decoded text equals the expected
text (line endings normalised). Target: >= 95 %. Writes ``bench/results/qr_decode.json``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from gridgate.faces.images import decode_image
from gridgate.qr.decode import decode_qr, read_with_opencv, read_with_zxing, to_grey
from gridgate.qr.read_failures import QrNotRead

QR_PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "qr_photos"
RESULTS = Path(__file__).resolve().parent / "results" / "qr_decode.json"
TARGET = 0.95


def _normalised(text: str) -> str:
    return text.replace("\r\n", "\n")


def _ladder(grey) -> tuple[str | None, str]:
    try:
        decoded = decode_qr(grey)
    except QrNotRead as refused:
        return None, refused.code
    return decoded.text, decoded.attempt


def main(argv: list[str]) -> None:
    photos = sorted(QR_PHOTOS.glob("*.png"))
    if not photos:
        raise SystemExit(f"no QR photos under {QR_PHOTOS}")
    read = {"zxing_only": 0, "opencv_only": 0, "ladder": 0}
    by_attempt: dict[str, int] = {}
    unread: list[str] = []
    ladder_ms: list[float] = []
    for photo in photos:
        expected = _normalised(photo.with_suffix(".txt").read_text(encoding="utf-8"))
        grey = to_grey(decode_image(photo.read_bytes()))
        read["zxing_only"] += expected in [_normalised(t) for t in read_with_zxing(grey)]
        read["opencv_only"] += expected in [_normalised(t) for t in read_with_opencv(grey)]
        started = time.perf_counter()
        text, attempt = _ladder(grey)
        ladder_ms.append((time.perf_counter() - started) * 1000)
        if text == expected:
            read["ladder"] += 1
            by_attempt[attempt] = by_attempt.get(attempt, 0) + 1
        else:
            unread.append(photo.name)
    total = len(photos)
    result = {
        "photos": total,
        "read": read,
        "rate": {name: round(count / total, 4) for name, count in read.items()},
        "target": TARGET,
        "meets_target": read["ladder"] / total >= TARGET,
        "ladder_read_by_attempt": by_attempt,
        "unread": unread,
        "ladder_ms": {
            "p50": round(statistics.median(ladder_ms), 2),
            "p95": round(statistics.quantiles(ladder_ms, n=20)[18], 2),
            "max": round(max(ladder_ms), 2),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
