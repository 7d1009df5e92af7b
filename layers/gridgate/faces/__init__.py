"""The face path: image bytes -> the one face to judge -> a calibrated match with provenance.

- `images.decode_image`      robust decoding (EXIF orientation, alpha, 16-bit, size limits)
- `pipeline.probe_face`      detect, choose the face to judge, quality checks, encode
- `matcher.match`            app registry first, then population, with the calibrated rule

The warm per-estate galleries (who may enter, a read model) are the gate's: `gridgate.gate.estate_gallery`.

docs/face-matching.md explains the rules and the calibration behind them.
"""
