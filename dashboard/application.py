"""The app factory: Flask server + Dash app, login, access guard, pages and API."""

from __future__ import annotations

import datetime as dt
import logging

import dash
from dash import ClientsideFunction, Input, Output, State, html
from flask import Flask, Response, abort, jsonify, render_template, request
from flask_login import current_user

from dashboard import ids
from dashboard.api import ApiWiring
from dashboard.api import blueprint as api_blueprint
from dashboard.branding import STYLESHEET_URL
from dashboard.cache import init_cache
from dashboard.components.shell import shell
from dashboard.config import PROJECT_ROOT
from dashboard.pages import all_pages, page_for_path
from dashboard.pages.audit import files as audit_files
from dashboard.pages.campaigns import files as campaign_files
from dashboard.pages.case_evidence import files as evidence_files
from dashboard.pages.coverage import files as coverage_files
from dashboard.pages.gaps import files as gap_files
from dashboard.pages.protection import files as protection_files
from dashboard.pages.uptake import files as uptake_files
from dashboard.public.duplicates import after_registering
from dashboard.public.privacy import blueprint as privacy_blueprint
from dashboard.public.respond import blueprint as respond_blueprint
from dashboard.public.tiles import blueprint as tiles_blueprint
from dashboard.public.tus import blueprint as tus_blueprint
from dashboard.public.tus import openapi_paths as tus_openapi_paths
from dashboard.public.views import blueprint as public_blueprint
from dashboard.request_errors import guard_callback_values, init_request_errors
from dashboard.runtime import Runtime, prepare
from dashboard.runtime_access import runtime
from dashboard.security.access import filter_dependencies, guard
from dashboard.security.headers import init_headers
from dashboard.security.limits import init_limits
from dashboard.security.login import init_login
from dashboard.security.query_log import init_query_log
from dashboard.security.search_limits import SearchQuota
from dashboard.security.site import use_pages

log = logging.getLogger(__name__)


def _server(rt: Runtime) -> Flask:
    server = Flask("dashboard", template_folder=str(PROJECT_ROOT / "dashboard" / "templates"))
    server.config.update(
        SECRET_KEY=rt.settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=3600 * 12,
        PROPAGATE_EXCEPTIONS=False,
    )
    server.json.sort_keys = False  # keep the documented field order; and sorting costs time on big answers
    server.extensions["ccr"] = rt
    # Each officer's search limit (SEARCH_RATE_LIMIT), read by the search page and the API (runtime_access).
    server.extensions["ccr_search_quota"] = SearchQuota(
        rt.sessions, rt.settings.secret_key, rt.settings.search_rate_limit
    )
    init_request_errors(server)  # after the config: it sets the request class and MAX_CONTENT_LENGTH
    init_cache(server)
    init_login(server)
    server.before_request(guard)
    server.register_blueprint(api_blueprint)
    # The API hands a repeat registration to the public side's mail, and describes its tus uploads: the
    # public side sits above the API, so they are handed over here.
    server.extensions["ccr_api"] = ApiWiring(after_registering=after_registering, openapi_paths=tus_openapi_paths)
    server.register_blueprint(public_blueprint)
    server.register_blueprint(respond_blueprint)
    server.register_blueprint(privacy_blueprint)  # /privacy, the force's logo and colour, `brand` in templates
    server.register_blueprint(tiles_blueprint)  # the maps' offline orientation layer, open data only
    server.register_blueprint(tus_blueprint)  # the owner's resumable uploads under /respond/<token>/files
    server.register_blueprint(campaign_files)
    server.register_blueprint(gap_files)
    server.register_blueprint(coverage_files)
    server.register_blueprint(uptake_files)
    server.register_blueprint(audit_files)
    server.register_blueprint(evidence_files)  # footage played, downloaded and exported from My cases
    server.register_blueprint(protection_files)
    init_limits(
        server,
        rt.settings.registration_rate_limit,
        rt.sessions,
        rt.settings.secret_key,
        upload_limit=rt.settings.upload_rate_limit,
    )
    # After the guard and the limiter: analysts' and leads' aggregate queries they admit go into the audit log.
    init_query_log(server)

    @server.get("/sources")
    def sources():
        path = runtime().reference.sources_path
        if path is None or not path.is_file():
            abort(404)
        return Response(path.read_text(encoding="utf-8"), mimetype="text/plain; charset=utf-8")

    @server.errorhandler(500)
    def server_error(_exc):
        log.exception("unhandled error")
        message = "The request could not be completed. It has been logged."
        if request.path.startswith(("/api/", "/_dash")):
            return jsonify(error=message), 500
        return render_template("error.html", status=500, message=message), 500

    return server


def _serve_layout():
    """The shell for the logged-in user: navigation lists only the pages their role may use."""
    rt = runtime()
    if not current_user.is_authenticated:
        return html.Div()
    pages = [p for p in all_pages() if p.allows(current_user.role)]
    return shell(
        pages,
        current_user.username,
        current_user.role_label,
        rt.reference,
        rt.brand,
    )


def route(pathname):
    """The page at ``pathname`` for the logged-in user: "Page not found" for an address no page has, "Not
    available to your role" for a page their role may not use (the access guard refuses its callbacks
    too), else the page's layout."""
    rt = runtime()
    page = page_for_path(pathname or "/")
    if page is None:
        return html.Div([html.H1("Page not found", className="h3"), html.P("There is no page at this address.")])
    if not page.allows(current_user.role):
        return html.Div(
            [
                html.H1("Not available to your role", className="h3"),
                html.P("Ask an administrator if you need access."),
            ]
        )
    return page.layout(rt, current_user)


def _register_router(app: dash.Dash) -> None:
    app.callback(Output(ids.CONTENT, "children"), Input(ids.URL, "pathname"))(route)

    app.clientside_callback(
        ClientsideFunction(namespace="ccr", function_name="toggleNav"),
        Output("shell-nav-collapse", "is_open"),
        Input("shell-nav-toggle", "n_clicks"),
        State("shell-nav-collapse", "is_open"),
        prevent_initial_call=True,
    )


def create_app(rt: Runtime | None = None) -> dash.Dash:
    """Build the Dash app on a Flask server. ``rt`` defaults to a freshly prepared Runtime."""
    rt = rt or prepare()
    use_pages(all_pages())  # the guard, the query log and the audit's words learn the pages from here
    server = _server(rt)
    app = dash.Dash(
        "dashboard",
        server=server,
        assets_folder=str(PROJECT_ROOT / "assets"),
        # Served, but not put on the dashboard's pages: the public pages' own scripts, Leaflet and
        # tus-js-client (the owner's response page loads it itself).
        assets_path_ignore=["^public$", "^leaflet$", "^tus-js-client$"],
        title=f"Community Camera Registry · {rt.brand.force_name}",
        update_title=None,
        suppress_callback_exceptions=True,
        serve_locally=True,
        external_stylesheets=[STYLESHEET_URL],  # the force's colour (FORCE_COLOUR), served by this app
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    # Dash's own page, with the language every other page of the app declares (WCAG 3.1.1: screen
    # readers pick their voice from it).
    app.index_string = dash.dash._default_index.replace("<html>", '<html lang="en-GB">', 1)
    app.layout = _serve_layout
    guard_callback_values(server)
    _register_router(app)
    for page in all_pages():
        if page.register_callbacks:
            page.register_callbacks(app)
    # The guard refuses callback requests naming outputs no callback has, or carrying another
    # number of inputs or states than the callback takes (a forged body), rather than letting
    # Dash fail on them.
    server.extensions["ccr_callbacks"] = {
        key: (len(spec["inputs"]), len(spec["state"])) for key, spec in app.callback_map.items()
    }
    # Each role is told only of its own pages' callbacks.
    filter_dependencies(server, app.config.routes_pathname_prefix + "_dash-dependencies")
    # After every callback: the CSP carries the hashes of Dash's inline scripts.
    init_headers(server, app, rt.settings)
    # Dash learns which component scripts it may serve while it renders the index page, which it
    # first does in its first-request set-up; it lets other threads through meanwhile, and they
    # were refused (500) when a browser's first script requests reached a fresh worker process
    # together. Rendering the index here registers every script before anything is served.
    with server.test_request_context("/"):
        app.index()
    rt.finder.warm()
    if rt.settings.outbox_worker and (rt.settings.smtp_url or rt.settings.notify_api_key):
        from dashboard.delivery.worker import sender_for, start_in_background

        start_in_background(sender_for(rt))  # sends footage requests to owners (issue 16)
    return app
