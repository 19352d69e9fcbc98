"""The review page, served on 127.0.0.1 only, for the one instructor who started it.

Students' answers are hostile text shown to a logged-in reviewer, so the server trusts nothing
a page could forge:

* it binds 127.0.0.1 and answers only requests whose ``Host`` is this address (no DNS
  rebinding);
* every API call carries a random token (``X-Review-Token``), handed out once in the URL the
  command prints, as Jupyter does; a custom header cannot be sent cross-origin without a CORS
  preflight, which this server never grants (CSRF); a POST also needs a JSON body and, when the
  browser names one, the page's own ``Origin``;
* the page is static files under a strict Content-Security-Policy (scripts only from this
  server, no inline code, no frames, no requests elsewhere), and its script sets student text
  with ``textContent`` only, so text is never markup.
"""

from __future__ import annotations

import getpass
import hmac
import json
import secrets
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from grader.errors import GraderError
from grader.review.board import Board

HOST = "127.0.0.1"
MAX_BODY = 64 * 1024
TOKEN_HEADER = "X-Review-Token"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_STATIC = {"/app.js": "text/javascript", "/app.css": "text/css"}


class ReviewServer(ThreadingHTTPServer):
    """An HTTP server for one :class:`Board`; ``port=0`` picks a free port. Threaded, so a
    browser's idle pre-opened connection cannot hold up the page; writes take ``lock``."""

    daemon_threads = True

    def __init__(self, board: Board, *, port: int = 0, token: str | None = None) -> None:
        self.board = board
        self.token = token or secrets.token_urlsafe(32)
        self.reviewer = _user()
        self.lock = threading.Lock()
        super().__init__((HOST, port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/?token={self.token}"

    def allowed_hosts(self) -> set[str]:
        return {f"{HOST}:{self.port}", f"localhost:{self.port}"}


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


class _Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    server_version = "grade-review"
    sys_version = ""
    timeout = 60  # seconds an idle connection is kept

    def log_message(self, format: str, *args: Any) -> None:
        return  # the terminal stays quiet; decisions are in review.json

    # ---------------------------------------------------------------- routing
    def do_GET(self) -> None:
        if not self._host_ok():
            return
        url = urlsplit(self.path)
        if url.path == "/":
            given = parse_qs(url.query).get("token", [""])[0]
            if not self._token_ok(given):
                return self._text(HTTPStatus.FORBIDDEN, "open the URL `grade review` printed")
            return self._send(HTTPStatus.OK, _page("index.html"), "text/html; charset=utf-8")
        if url.path in _STATIC:
            kind = _STATIC[url.path]
            return self._send(HTTPStatus.OK, _page(url.path[1:]), f"{kind}; charset=utf-8")
        if not self._token_ok(self.headers.get(TOKEN_HEADER, "")):
            return self._text(HTTPStatus.FORBIDDEN, "missing or wrong review token")
        query = parse_qs(url.query)
        routes: dict[str, Callable[[], Any]] = {
            "/api/state": self.server.board.state,
            "/api/pair": lambda: self.server.board.pair_code(
                query.get("a", [""])[0], query.get("b", [""])[0]
            ),
        }
        if url.path not in routes:
            return self._text(HTTPStatus.NOT_FOUND, "not found")
        self._call(routes[url.path])

    def do_POST(self) -> None:
        if not self._host_ok() or not self._post_ok():
            return
        if urlsplit(self.path).path != "/api/decide":
            return self._text(HTTPStatus.NOT_FOUND, "not found")
        body = self._json_body()
        if body is not None:
            self._call(lambda: self._decide(body))

    def _decide(self, body: dict[str, Any]) -> Any:
        points = body.get("points")
        if points is not None and not isinstance(points, int | float):
            raise GraderError("points must be a number or null")
        with self.server.lock:
            return self.server.board.decide(
                str(body.get("student", "")),
                str(body.get("question", "")),
                points=None if points is None else float(points),
                comment=str(body.get("comment", ""))[:5000],
                answer_sha256=str(body.get("answer_sha256", "")),
                reviewer=self.server.reviewer,
            )

    # ---------------------------------------------------------------- guards
    def _host_ok(self) -> bool:
        if self.headers.get("Host", "") in self.server.allowed_hosts():
            return True
        self._text(HTTPStatus.BAD_REQUEST, "wrong Host header")
        return False

    def _token_ok(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.server.token.encode())

    def _post_ok(self) -> bool:
        origin = self.headers.get("Origin")
        site = self.headers.get("Sec-Fetch-Site")
        if origin is not None and urlsplit(origin).netloc not in self.server.allowed_hosts():
            self._text(HTTPStatus.FORBIDDEN, "cross-origin request refused")
        elif site is not None and site not in ("same-origin", "none"):
            self._text(HTTPStatus.FORBIDDEN, "cross-site request refused")
        elif not self._token_ok(self.headers.get(TOKEN_HEADER, "")):
            self._text(HTTPStatus.FORBIDDEN, "missing or wrong review token")
        elif self.headers.get_content_type() != "application/json":
            self._text(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON")
        else:
            return True
        return False

    def _json_body(self) -> dict[str, Any] | None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self._text(HTTPStatus.BAD_REQUEST, f"body must be 1..{MAX_BODY} bytes")
            return None
        try:
            body = json.loads(self.rfile.read(length))
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            self._text(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
            return None
        return body

    # ---------------------------------------------------------------- replies
    def _call(self, make: Callable[[], Any]) -> None:
        try:
            data = make()
        except (GraderError, KeyError) as exc:
            return self._json(HTTPStatus.CONFLICT, {"error": str(exc)})
        self._json(HTTPStatus.OK, data)

    def _json(self, status: HTTPStatus, data: Any) -> None:
        """JSON with ``<``, ``>`` and ``&`` escaped too: never markup, however it is sniffed."""
        text = json.dumps(data, ensure_ascii=True)
        for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
            text = text.replace(char, escaped)
        self._send(status, text.encode(), "application/json")

    def _text(self, status: HTTPStatus, text: str) -> None:
        self._send(status, (text + "\n").encode(), "text/plain; charset=utf-8")

    def _send(self, status: HTTPStatus, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.end_headers()
        self.wfile.write(body)


def _page(name: str) -> bytes:
    return (resources.files("grader.review") / "static" / name).read_bytes()
