"""The JSON API (``/api/v1``): a Flask blueprint; bearer tokens or a logged-in session."""
from __future__ import annotations

from flask import Blueprint, jsonify

from dashboard.analytics.overview import district_table, districts_covered
from dashboard.analytics.suppression import suppress
from dashboard.registry.models import utcnow
from dashboard.registry.queries import registry_summary
from dashboard.registry.vocab import ROLES
from dashboard.runtime_access import runtime
from dashboard.security.access import api_roles

blueprint = Blueprint("api_v1", __name__, url_prefix="/api/v1")


@blueprint.get("/summary")
@api_roles(*ROLES)
def summary():
    """Headline figures of the register, K-suppressed like the overview page."""
    rt = runtime()
    k = rt.settings.k_min
    now = utcnow()
    with rt.sessions() as s:
        result = registry_summary(s, now)
    table = district_table(result.by_district, rt.reference.districts, k)
    records = [
        {
            "code": r.code,
            "name": r.name,
            "households": int(r.households),
            "registrations": None if r.registrations is None or r.registrations != r.registrations else int(r.registrations),
            "registrations_per_1000": None if r.registrations_per_1000 != r.registrations_per_1000 else r.registrations_per_1000,
        }
        for r in table.astype(object).where(table.notna(), None).itertuples()
    ]
    return jsonify(
        as_of=now.isoformat(timespec="seconds"),
        k_min=k,
        active_registrations=suppress(result.active_registrations, k).value,
        active_cameras=suppress(result.active_cameras, k, basis=result.active_registrations).value,
        registrations_last_7_days=suppress(result.registrations_last_7_days, k).value,
        districts_covered=districts_covered(result.by_district, k),
        districts=records,
    )


@blueprint.errorhandler(404)
def not_found(_exc):
    response = jsonify(error="No such API route.")
    response.status_code = 404
    return response
