"""The review server over HTTP: bound to 127.0.0.1, token on every API call, no cross-origin
or cross-site writes, DNS rebinding refused, strict headers on every reply."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.review.board import open_board
from grader.review.server import CSP, ReviewServer


@pytest.fixture
def server(batch_out: Path) -> Iterator[ReviewServer]:
    srv = ReviewServer(open_board(batch_out, similarity=False), token="t0ken")
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def request(
    srv: ReviewServer,
    method: str,
    path: str,
    *,
    body: object = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    data = json.dumps(body).encode() if body is not None else None
    sent = {"Host": f"127.0.0.1:{srv.port}", **(headers or {})}
    conn.request(method, path, body=data, headers=sent)
    reply = conn.getresponse()
    out = reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    conn.close()
    return out


def api_headers(**extra: str) -> dict[str, str]:
    return {"X-Review-Token": "t0ken", "Content-Type": "application/json", **extra}


def decision_body(srv: ReviewServer) -> dict[str, object]:
    item = srv.board.item("anna", "q1")
    return {
        "student": "anna",
        "question": "q1",
        "points": 0.5,
        "answer_sha256": item["answer_sha256"],
    }


def test_listens_on_loopback_only(server: ReviewServer) -> None:
    assert server.server_address[0] == "127.0.0.1"
    assert server.url == f"http://127.0.0.1:{server.port}/?token=t0ken"


def test_the_page_needs_the_token_and_comes_with_strict_headers(server: ReviewServer) -> None:
    assert request(server, "GET", "/")[0] == 403
    assert request(server, "GET", "/?token=wrong")[0] == 403
    status, headers, body = request(server, "GET", "/?token=t0ken")
    assert status == 200 and b'<script src="/app.js" defer>' in body
    assert headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_api_needs_the_token_header(server: ReviewServer) -> None:
    assert request(server, "GET", "/api/state")[0] == 403
    assert request(server, "GET", "/api/state?token=t0ken")[0] == 403
    status, headers, body = request(server, "GET", "/api/state", headers=api_headers())
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body)["questions"][0]["id"] == "q1"
    assert b"<script>" not in body, "JSON escapes markup (\\u003c) as well"


def test_another_host_header_is_refused(server: ReviewServer) -> None:
    evil = {"Host": f"evil.example:{server.port}"}
    assert request(server, "GET", "/?token=t0ken", headers=evil)[0] == 400
    assert request(server, "GET", "/api/state", headers=api_headers(**evil))[0] == 400


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"X-Review-Token": ""}, 403),
        ({"Origin": "http://evil.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Content-Type": "text/plain"}, 415),
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ],
)
def test_forged_writes_are_refused(
    server: ReviewServer, batch_out: Path, headers: dict[str, str], status: int
) -> None:
    reply = request(
        server, "POST", "/api/decide", body=decision_body(server), headers=api_headers(**headers)
    )
    assert reply[0] == status
    assert not (batch_out / "anna" / "review.json").exists()


def test_a_same_origin_write_is_stored(server: ReviewServer, batch_out: Path) -> None:
    origin = {"Origin": f"http://127.0.0.1:{server.port}", "Sec-Fetch-Site": "same-origin"}
    status, _, body = request(
        server, "POST", "/api/decide", body=decision_body(server), headers=api_headers(**origin)
    )
    assert status == 200 and json.loads(body)["decision"]["points"] == 0.5
    assert (batch_out / "anna" / "review.json").is_file()


def test_bad_bodies_get_a_message_not_a_crash(server: ReviewServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request(
        "POST",
        "/api/decide",
        body=b"[1, 2",
        headers={"Host": f"127.0.0.1:{server.port}", **api_headers()},
    )
    assert conn.getresponse().status == 400
    conn.close()
    body = {**decision_body(server), "points": "1; DROP"}
    status, _, text = request(server, "POST", "/api/decide", body=body, headers=api_headers())
    assert status == 409 and b"points must be a number" in text
    assert request(server, "OPTIONS", "/api/decide")[0] == 501, "no CORS preflight is granted"
