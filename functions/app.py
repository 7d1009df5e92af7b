"""The gridgate API: one Chalice app, one blueprint per endpoint family.

- `chalicelib/blueprints/residents.py`  the city app: grants, visitor passes, resident QR, faces
- `chalicelib/blueprints/gate.py`       gate devices: face / QR entry and exit capture
- `chalicelib/blueprints/grid_workers.py` grid workers: task lists and verification results
- `chalicelib/blueprints/pages.py`       people-facing pages: grid worker (phone), data center
- `chalicelib/blueprints/sign_in.py`     people's sign-in for the pages (city IdP, OIDC + PKCE)
- `chalicelib/blueprints/events_out.py`  integrators: webhook subscriptions, event exports
- `chalicelib/blueprints/compliance.py`  data-center and correction staff: compliance report, alerts
- `chalicelib/blueprints/public_health.py` public-health officers: approved epidemic flow queries
- `chalicelib/blueprints/health.py`      operators: GET /health
"""

from chalice import Chalice

from chalicelib.blueprints import (
    compliance,
    events_out,
    faces,
    gate,
    grid_workers,
    health,
    pages,
    public_health,
    residents,
    sign_in,
)
from chalicelib.errors import install_error_handling
from chalicelib.request_context import bind_current_request

app = Chalice(app_name="gridgate")
app.api.binary_types.extend(["image/jpeg", "image/png", "application/octet-stream"])
install_error_handling(app)  # first: its middleware is the outermost, so it maps every error
app.register_middleware(bind_current_request, "http")  # per-thread current request
app.register_blueprint(residents.bp)
app.register_blueprint(gate.bp, url_prefix="/gate")
app.register_blueprint(grid_workers.bp, url_prefix="/grid")
app.register_blueprint(pages.bp, url_prefix="/pages")
app.register_blueprint(faces.bp, url_prefix="/faces")
app.register_blueprint(sign_in.bp, url_prefix="/auth")
app.register_blueprint(events_out.bp, url_prefix="/events")
app.register_blueprint(public_health.bp, url_prefix="/public-health")
app.register_blueprint(compliance.bp, url_prefix="/compliance")
app.register_blueprint(health.bp)
