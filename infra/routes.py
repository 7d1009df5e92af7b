"""API Gateway events for `serverless.yml`, generated from the Chalice app's own routes.

Chalice dispatches on API Gateway's ``resourcePath``, so every route must exist as its own
resource (a ``/{proxy+}`` catch-all would reach the app with a path it does not know). The
routes are read from `functions/app.py`, so a new endpoint appears in the deployment the next
time `python -m infra.generate` runs, and CI fails until it has.

Which function serves a route: gate-device routes (``/gate/...``) run in the gate function, a
container image with the face stack (dlib, models, OpenCV), under the gate's narrow role. The
residents' own face routes (enrolment, withdrawal: a path segment ``face`` or ``faces``) need
the same stack but the API's permissions, so they run in the ``faces`` function: the same image
under the API role. Every other route runs in the zip function.
"""

from __future__ import annotations

import sys
from pathlib import Path

from infra.naming import API_FUNCTION, FACES_FUNCTION, GATE_FUNCTION

FUNCTIONS_DIR = Path(__file__).resolve().parents[1] / "functions"

#: Route prefixes served by the gate (container image) function.
GATE_ROUTE_PREFIXES = ("/gate/",)
#: Path segments of app routes that need the face stack.
FACE_SEGMENTS = frozenset({"face", "faces"})


def chalice_app():
    """The app object exactly as Lambda imports it (``app.app`` with ``functions/`` on the path)."""
    if str(FUNCTIONS_DIR) not in sys.path:
        sys.path.insert(0, str(FUNCTIONS_DIR))
    import app as app_module

    return app_module.app


def function_for(path: str) -> str:
    if path.startswith(GATE_ROUTE_PREFIXES):
        return GATE_FUNCTION
    if FACE_SEGMENTS & set(path.strip("/").split("/")):
        return FACES_FUNCTION
    return API_FUNCTION


def http_events(app=None) -> dict[str, list[dict]]:
    """function name -> Serverless ``http`` events (REST API, Lambda proxy integration)."""
    app = app or chalice_app()
    events: dict[str, list[dict]] = {API_FUNCTION: [], GATE_FUNCTION: [], FACES_FUNCTION: []}
    for path in sorted(app.routes):
        for method in sorted(app.routes[path]):
            entry = app.routes[path][method]
            event: dict = {"path": path.lstrip("/") or "/", "method": method.lower()}
            if entry.cors:
                event["cors"] = True
            events[function_for(path)].append({"http": event})
    return events


def binary_media_types(app=None) -> list[str]:
    app = app or chalice_app()
    return sorted(set(app.api.binary_types))
