"""Entry point: ``python app.py`` serves the dashboard on http://127.0.0.1:8050.

With ``--demo`` (or ``DEMO=1``) on an empty database it first builds the demo registry and prints
the demo logins; it refuses demo mode on a database with any real account or registration.
Without it nothing is added to the database. For a WSGI server use ``app:server``: the Flask server of ``create_app()``, built on
first use so that importing this module loads no data.
"""

from __future__ import annotations

import sys


def __getattr__(name: str):
    if name == "server":
        from dashboard.application import create_app

        global server
        server = create_app().server
        return server
    raise AttributeError(name)


if __name__ == "__main__":
    from dashboard.cli import main

    sys.exit(main(["serve", *sys.argv[1:]]))
