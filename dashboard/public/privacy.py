"""The force's frame around every public page and the full privacy notice: ``/privacy``, the
configured logo (``/brand/logo``) and colour (``/brand/style.css``), and ``brand`` for every template.

Thin: the facts come from the live Settings (``dashboard.branding.Brand``, the retention periods),
so the notice never disagrees with the configuration in force. No login: all of it is public.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, send_file

from dashboard.branding import LOGO_URL, STYLESHEET_URL, Brand
from dashboard.evidence.retention import Periods, days, public_sentence
from dashboard.runtime_access import runtime

blueprint = Blueprint("privacy", __name__)


def brand() -> Brand:
    rt = runtime()
    return rt.brand


@blueprint.app_context_processor
def _brand() -> dict:
    """``brand`` for every template (the public frame's header and footer use it)."""
    if "ccr" not in current_app.extensions:
        return {}
    return {"brand": brand(), "brand_stylesheet": STYLESHEET_URL}


def _plural(n: int, unit: str) -> str:
    return f"{n:,} {unit}{'s' if n != 1 else ''}"


@blueprint.get("/privacy")
def privacy_notice():
    st = runtime().settings
    periods = Periods.from_settings(st)
    return render_template(
        "public/privacy.html",
        retention_months=_plural(st.retention_months, "month"),
        grace_days=days(st.retention_grace_days),
        declined_days=days(periods.declined_days),
        closed_case_days=days(periods.closed_case_days),
        footage_kept=public_sentence(periods),
        response_link_days=days(st.response_link_days),
        texts_by_notify=bool(st.notify_api_key),
        k_min=st.k_min,
    )


@blueprint.get(STYLESHEET_URL)
def stylesheet():
    return Response(brand().stylesheet(), mimetype="text/css")


@blueprint.get(LOGO_URL)
def logo():
    st = runtime().settings
    if st.force_logo is None or not st.force_logo.is_file():
        abort(404)
    return send_file(st.force_logo, mimetype=st.force_logo_type, conditional=False, etag=False)
