"""The Dash app: `create_app` (the page of dashboard/layout/, the callbacks of
dashboard/callbacks.py, the dashboard's serving guards) and `main`, which serves it.

    python -m dashboard --specs specs            # or: archcalc dashboard
"""
from __future__ import annotations

import sys
from pathlib import Path

from dash import Dash

from archcalc import limits as L

from . import callbacks, serving
from .layout.page import page
from .log import log
from .serving import is_loopback  # noqa: F401  (part of this module's interface)
from .views.frontier import frontier_points
from .workspace import Workspace

HERE = Path(__file__).resolve().parent


class ArchcalcDash(Dash):
    """Dash, served with the dashboard's guards: `run` checks the Host header of a loopback
    bind and holds a bounded number of connections (dashboard/serving.py)."""

    def run(self, host=None, port=None, debug=False, **options):
        import os
        host = host or os.getenv("HOST", "127.0.0.1")
        port = int(port or os.getenv("PORT", "8050"))
        serving.validate_bind(host, port)
        serving.install_host_check(self.server, host, port)
        options.setdefault("request_handler", serving.bounded_handler())
        return super().run(host=host, port=port, debug=debug, **options)


def create_app(specs_dir, db_path=None, *, workspace: Workspace | None = None,
               host: str | None = None, port: int | None = None, extra_specs=()) -> Dash:
    """The dashboard for the specs in `specs_dir` (and measured latencies from `db_path`).
    With `host` and `port` (a loopback bind), requests for any other Host are refused; `run`
    installs the same check for the address it serves."""
    ws = workspace or Workspace(specs_dir, db_path, extra_specs=extra_specs)
    app = ArchcalcDash(__name__, assets_folder=str(HERE / "assets"), title="archcalc dashboard",
                       update_title=None, suppress_callback_exceptions=True)
    app.server.config["MAX_CONTENT_LENGTH"] = 4 * L.DASHBOARD_MAX_UPLOAD_BYTES
    serving.install_host_check(app.server, host, port)
    app.layout = lambda: page(ws)
    app.archcalc_workspace = ws
    callbacks.register(app, ws)
    return app


def main(host: str = "127.0.0.1", port: int = 8050, specs_dir="specs", db_path=None,
         extra_specs=()) -> int:
    """Serve the dashboard (blocking). Warns on stderr when `host` is not a loopback address;
    on a loopback address, answers only requests for localhost / 127.0.0.1 / [::1]."""
    serving.validate_bind(host, port)
    if not is_loopback(host):
        print(f"archcalc dashboard: WARNING: serving on {host}:{port}, which other machines can "
              f"reach. The dashboard has no authentication: anyone who can reach this port can "
              f"use it (pasted specs are checked in a sandbox with size, time and memory limits, "
              f"and nothing outside {specs_dir} is read). Use --host 127.0.0.1 to keep it local.",
              file=sys.stderr)
    app = create_app(specs_dir, db_path, extra_specs=extra_specs) if extra_specs else \
        create_app(specs_dir, db_path)
    ws = app.archcalc_workspace

    def warm():        # the first page load then finds the frontier and the designer ready
        try:
            frontier_points(ws, "paper")
            if "mobilenet_v2.yaml" in ws.catalog.entries:
                ws.layer_evaluator("file:mobilenet_v2.yaml", wait=True)
        except Exception as err:  # noqa: BLE001  (the views compute it again and report)
            log(f"warm-up failed: {err}")

    import threading
    threading.Thread(target=warm, name="archcalc warm-up", daemon=True).start()
    print(f"archcalc dashboard: http://{host if ':' not in host else f'[{host}]'}:{port}/ "
          f"(specs: {app.archcalc_workspace.catalog.dir}; Ctrl-C to stop)", file=sys.stderr)
    app.run(host=host, port=port, debug=False)
    return 0
