"""Serving the app in production: gunicorn, several worker processes with threads in each.

One Python process runs Python on one core at a time, so the server forks ``WEB_WORKERS``
processes (default: one per core), each with ``WEB_THREADS`` threads. Each worker builds its
own app, reference geography and camera index after the fork; the parent process only checks
the set-up (settings, schema, demo data) and then supervises, holding no database connection.
"""

from __future__ import annotations

import gc

from gunicorn.app.base import BaseApplication

from dashboard.config import Settings


def settle_memory() -> None:
    """Move what start-up built (reference geography, app, layouts) out of the garbage
    collector's view. Those objects live as long as the process; without this every full
    collection walks them again (~90 ms, a pause in whichever request triggers it)."""
    gc.collect()
    gc.freeze()


def worker_app():
    """The WSGI app one worker serves (built after the fork, so nothing is shared by accident)."""
    from dashboard.application import create_app

    app = create_app()
    settle_memory()
    return app.server


class _Server(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return worker_app()


def serve(settings: Settings) -> None:
    """Serve on ``settings.host:port`` until interrupted (Ctrl+C or SIGTERM stop it cleanly)."""
    _Server(
        {
            "bind": f"{settings.host}:{settings.port}",
            "workers": settings.web_workers,
            "threads": settings.web_threads,
            "worker_class": "gthread",
            "preload_app": False,
            "graceful_timeout": 10,
            "timeout": 120,  # a worker silent this long is restarted (a 1M-camera index builds in ~4 s)
            "loglevel": "warning",
            "accesslog": None,
            "proc_name": "ccr",
        }
    ).run()
