"""Serving the dashboard: the address it binds, the Host header it answers, the connections it
holds. No Dash import (the `archcalc dashboard` command validates its options with this before
Dash is loaded).

* `validate_bind`: `--host` must be an address or a name that resolves, `--port` a number
  from 1 to 65535 (free, when asked): one line and exit status 2 otherwise, never a traceback.
* `install_host_check`: on a loopback bind, a request whose Host header is not
  `localhost:PORT`, `127.0.0.1:PORT` or `[::1]:PORT` is answered 400. A web page on another
  site can make the browser send requests to 127.0.0.1 under a name it controls (DNS
  rebinding); such requests carry that name in Host and are refused.
* `bounded_handler`: the werkzeug request handler that serves at most
  `DASHBOARD_MAX_CONNECTIONS` connections at once (one thread each) and answers 503 with
  Retry-After beyond that; an idle connection is closed after `DASHBOARD_IDLE_CONNECTION_S`.
"""
from __future__ import annotations

import ipaddress
import socket
import threading

from archcalc import limits
from archcalc.errors import OptionError

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(str(host).strip("[]")).is_loopback
    except ValueError:
        return False


def port_number(text) -> int | str:
    """argparse type of --port: the integer, or the text as given (validate_bind refuses it
    with one line; argparse would print its usage too)."""
    try:
        return int(str(text).strip())
    except ValueError:
        return str(text)


def validate_bind(host, port, *, try_bind: bool = False) -> None:
    """OptionError (one line) unless `host` resolves and `port` is 1..65535 (and, with
    try_bind, free to listen on)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise OptionError(f"--port {str(port)[:40]}: not a port number (1 to 65535)")
    text = str(host or "")
    if not text or len(text) > 253 or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise OptionError(f"--host {text[:60]!r}: not a host name or an address")
    try:
        infos = socket.getaddrinfo(text.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise OptionError(f"--host {text[:60]}: cannot resolve it ({reason})") from None
    if not try_bind or not infos:
        return
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as err:
            raise OptionError(f"cannot listen on {text}:{port} ({err.strerror or err})") from None


def allowed_hosts(host, port) -> frozenset | None:
    """The Host headers a loopback bind answers; None (no check) for other binds."""
    if not is_loopback(str(host)):
        return None
    names = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    if int(port) == 80:
        names |= set(LOOPBACK_NAMES)
    return frozenset(names)


def install_host_check(flask_app, host=None, port=None) -> None:
    """Refuse (400) requests whose Host header a loopback bind should never see. Called once
    when the app is made (no host: no check yet) and again with the address it serves."""
    flask_app.config["ARCHCALC_ALLOWED_HOSTS"] = (None if host is None or port is None
                                                  else allowed_hosts(host, port))
    if not flask_app.config.get("ARCHCALC_HOST_CHECK"):
        flask_app.config["ARCHCALC_HOST_CHECK"] = True
        flask_app.before_request(_check_host)


def _check_host():
    from flask import current_app, request
    allowed = current_app.config.get("ARCHCALC_ALLOWED_HOSTS")
    if allowed is None:
        return None
    host = (request.headers.get("Host") or "").strip().lower()
    if host in allowed:
        return None
    return (f"archcalc dashboard: refused a request for host {host[:80]!r}: this server "
            f"answers only to {', '.join(sorted(allowed))} (a guard against DNS rebinding)\n",
            400, {"Content-Type": "text/plain; charset=utf-8"})


def bounded_handler(max_connections: int | None = None, idle_s: float | None = None):
    """A werkzeug request handler class holding at most `max_connections` connections."""
    from werkzeug.serving import WSGIRequestHandler
    slots = threading.BoundedSemaphore(max_connections or limits.DASHBOARD_MAX_CONNECTIONS)

    class BoundedHandler(WSGIRequestHandler):
        timeout = idle_s or limits.DASHBOARD_IDLE_CONNECTION_S    # idle keep-alive closed
        refuse = False

        def handle(self):
            self.refuse = not slots.acquire(blocking=False)
            try:
                super().handle()
            finally:
                if not self.refuse:
                    slots.release()

        def run_wsgi(self):
            if not self.refuse:
                return super().run_wsgi()
            try:            # read the (small) body so that the client sees the answer
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = 0
            if 0 < length <= 4 * limits.DASHBOARD_MAX_UPLOAD_BYTES:
                self.rfile.read(length)
            body = (b"archcalc dashboard: busy (too many connections at once); "
                    b"try again in a few seconds\n")
            self.close_connection = True
            self.send_response(503)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Retry-After", "2")
            self.send_header("Connection", "close")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return BoundedHandler
