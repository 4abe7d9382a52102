"""The app shell: navigation for the user's role, the page container and the attribution footer."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html
from flask_wtf.csrf import generate_csrf

from dashboard import ids
from dashboard.branding import Brand
from dashboard.geo.reference import ReferenceGeography
from dashboard.security.site import SitePage


def navbar(
    pages: list[SitePage], username: str, role_label: str, force_name: str, logo_url: str | None = None
) -> dbc.Navbar:
    links = [dbc.NavItem(dbc.NavLink(p.title, href=p.path, active="exact")) for p in pages]
    logout = html.Form(
        [
            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
            html.Button("Log out", type="submit", className="btn btn-outline-light btn-sm", id="shell-logout"),
        ],
        method="POST",
        action="/logout",
        className="d-flex align-items-center gap-2 ms-lg-3",
    )
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(
                    [
                        *([html.Img(src=logo_url, alt="", className="brand-logo me-2")] if logo_url else []),
                        html.Span("Community Camera Registry", className="fw-semibold"),
                        html.Span(force_name, className="brand-force ms-2"),
                    ],
                    href="/",
                ),
                dbc.NavbarToggler(id="shell-nav-toggle"),
                dbc.Collapse(
                    [
                        dbc.Nav(links, navbar=True, className="me-auto", id=ids.NAV),
                        html.Span(
                            [html.Span(username, className="fw-semibold"), f" · {role_label}"],
                            className="navbar-text small text-light",
                            id="shell-user",
                        ),
                        logout,
                    ],
                    id="shell-nav-collapse",
                    navbar=True,
                    is_open=False,
                ),
            ],
            fluid=True,
        ),
        color="primary",
        dark=True,
        expand="lg",  # two rows from here up (assets/app.css), the menu button below
        className="mb-3 app-navbar",
    )


def footer(ref: ReferenceGeography) -> html.Footer:
    return html.Footer(
        dbc.Container(
            [
                html.P(
                    "No live access to any camera. Owners' addresses are never shown on a public map.",
                    className="mb-1 fw-semibold",
                ),
                *[html.P(line, className="mb-1") for line in ref.attribution],
                html.A("Data sources and licences", href="/sources", className="footer-link"),
            ],
            fluid=True,
        ),
        className="app-footer small text-secondary mt-4 py-3",
        id="shell-footer",
    )


def shell(
    pages: list[SitePage], username: str, role_label: str, ref: ReferenceGeography, brand: Brand | None = None
) -> html.Div:
    """``brand``: the force's name and logo in the header (FORCE_NAME, FORCE_LOGO); else the reference's name."""
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh="callback-nav"),
            html.A("Skip to content", href="#shell-content", className="visually-hidden-focusable skip-link"),
            navbar(
                pages,
                username,
                role_label,
                brand.force_name if brand else ref.force_name,
                brand.logo_url if brand else None,
            ),
            html.Main(dbc.Container(id=ids.CONTENT, fluid=True), id="main"),
            footer(ref),
        ]
    )
