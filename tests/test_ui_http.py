"""The page's gate with plain HTTP requests (httpx) against a real ``smseal ui`` process: the
one-time token, the session cookie, Host checks (DNS rebinding), CSRF and Origin checks, the
security headers, no third-party assets, and a clean stop on Ctrl-C."""

from __future__ import annotations

import os
import re

import httpx
import pytest

from tests.ui_server import PASSPHRASE, UNIT_B, make_homes, start


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    a, _b, _shared = make_homes(tmp_path_factory.mktemp("ui-http"))
    srv = start(a)
    yield srv
    code, err = srv.stop()
    assert code == 0 and "Traceback" not in err      # refusals and errors are answered, never logged as crashes


@pytest.fixture(scope="module")
def client(server):
    """A client that used the login link (the only one that can)."""
    with httpx.Client(base_url=server.base, follow_redirects=False, timeout=30) as c:
        r = c.get(server.login_url)
        assert r.status_code == 303 and r.headers["location"] == "/inbox"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        yield c


def _csrf(client) -> str:
    m = re.search(r"csrf=([A-Za-z0-9_\-]+)", client.get("/inbox").text)
    assert m
    return m.group(1)


def test_the_login_link_works_once(server, client):
    again = httpx.get(server.login_url, follow_redirects=False)
    assert again.status_code == 403
    assert "set-cookie" not in again.headers
    assert "已被使用" in again.text
    wrong = httpx.get(server.base + "/login?token=guess", follow_redirects=False)
    assert wrong.status_code == 403


def test_without_the_session_cookie_everything_is_refused(server, client):
    for path in ("/", "/inbox", "/status", "/directory", "/static/style.css"):
        r = httpx.get(server.base + path, follow_redirects=False)
        assert r.status_code == 403, path
        assert "尚未登录" in r.text
    r = httpx.get(server.base + "/inbox", cookies={"smseal_session": "forged"})
    assert r.status_code == 403


def test_another_host_is_refused_even_with_the_cookie(server, client):
    for host in ("evil.example", f"evil.example:{server.port}", f"127.0.0.1.nip.io:{server.port}",
                 f"127.0.0.1:{server.port + 1}", "127.0.0.1", ""):
        r = client.get("/inbox", headers={"host": host})
        assert r.status_code == 421, host
    assert client.get("/inbox", headers={"host": f"localhost:{server.port}"}).status_code == 200


def test_state_changing_requests_need_the_csrf_token(server, client):
    data = {"target": UNIT_B, "reason": "unspecified", "passphrase": PASSPHRASE}
    r = client.post("/directory/card/import", data={"data": "", "confirm": "yes"})
    assert r.status_code == 403 and "表单已过期" in r.text
    r = client.post("/bureau/revoke?csrf=wrong", data=data)
    assert r.status_code == 403
    token = _csrf(client)
    r = client.post(f"/directory/card/import?csrf={token}", data={"data": "", "confirm": "yes"},
                    headers={"origin": "http://evil.example"})
    assert r.status_code == 403 and "其他网站" in r.text
    # with the token the request reaches the handler (and fails there, for its own reason)
    r = client.post(f"/directory/card/import?csrf={token}", data={"data": "!!", "confirm": "yes"},
                    headers={"origin": server.base})
    assert r.status_code == 400 and "表单已损坏" in r.text


def test_headers_and_no_third_party_assets(client):
    r = client.get("/inbox")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    for path in ("/inbox", "/status", "/directory"):
        html = client.get(path).text
        for ref in re.findall(r'(?:src|href|action)="([^"]*)"', html):
            assert ref.startswith("/"), (path, ref)
    assert client.get("/static/app.js").status_code == 200


def test_errors_are_one_sentence_never_a_traceback(client):
    for path in ("/no/such/page", "/received/x/y/z"):
        r = client.get(path)
        assert r.status_code == 404 and 'role="alert"' in r.text and "没有这个页面" in r.text
    r = client.get("/inbox/fetch")
    assert r.status_code == 405 and 'role="alert"' in r.text
    r = client.get("/received/" + "0" * 32)
    assert r.status_code == 400
    assert "Traceback" not in r.text and 'role="alert"' in r.text
    assert "本机未收到文件包" in r.text


def test_ctrl_c_stops_the_server_cleanly(tmp_path):
    a, _b, _shared = make_homes(tmp_path)
    srv = start(a)
    assert httpx.get(srv.login_url, follow_redirects=False).status_code == 303
    code, err = srv.stop()
    assert code == 0
    assert "smseal ui 已停止" in err and "Traceback" not in err
    with pytest.raises(httpx.ConnectError):
        httpx.get(srv.base + "/inbox")


def test_files_of_a_package_opened_elsewhere_are_not_served(server, client, tmp_path):
    """A package the command opened into some folder: the page names the folder but serves none of
    its files (the folder may hold other files of the user's)."""
    import sqlite3

    folder = tmp_path / "desk"
    folder.mkdir()
    (folder / "private.txt").write_text("not from a package", encoding="utf-8")
    pid = "ab" * 16
    db = sqlite3.connect(server.home / "ledger.sqlite3")
    with db:
        db.execute("INSERT INTO received_packages (package_id, package_digest, sender_unit, opened_at, out_dir) "
                   "VALUES (?,?,?,?,?)", (pid, b"d" * 32, UNIT_B, "2026-12-01T08:00:00+00:00", str(folder)))
    db.close()
    page = client.get(f"/received/{pid}")
    assert page.status_code == 200 and str(folder) in page.text and "private.txt" not in page.text
    r = client.get(f"/received/{pid}/file", params={"name": "private.txt"})
    assert r.status_code == 400 and "not from a package" not in r.text


def test_port_option_and_a_taken_port(tmp_path):
    import socket
    import subprocess
    import sys

    from tests.ui_server import ENV

    a, _b, _shared = make_homes(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = start(a, "--port", str(port))
    try:
        assert srv.port == port and srv.login_url.startswith(f"http://127.0.0.1:{port}/login?token=")
        env = {**__import__("os").environ, **ENV, "SMSEAL_HOME": str(a)}
        taken = subprocess.run([sys.executable, "-m", "smseal.cli.main", "ui", "--no-browser", "--port", str(port)],
                               env=env, capture_output=True, text=True, timeout=60)
        assert taken.returncode == 2
        assert f"端口 {port} 已被占用" in taken.stderr and "Traceback" not in taken.stderr
    finally:
        srv.stop()


def test_uploaded_file_names_cannot_escape_and_uploads_are_removed(server, client):
    token = _csrf(client)
    for name in ("../../escaped.smx", "/tmp/escaped.smx", "..\\..\\escaped.smx"):
        r = client.post(f"/inbox/open?csrf={token}", data={"passphrase": "x"},
                        files={"package": (name, b"not a package", "application/octet-stream")})
        assert r.status_code in (400, 422) and 'role="alert"' in r.text and "Traceback" not in r.text
    assert not (server.home.parent / "escaped.smx").exists() and not (server.home / "escaped.smx").exists()
    uploads = server.home / "ui" / "uploads"
    assert uploads.is_dir() and (uploads.stat().st_mode & 0o777) == 0o700
    assert list(uploads.iterdir()) == []          # each request's folder is gone once it is answered


def test_compose_offers_reply_from_and_bureau_groups_and_status_shows_copies(tmp_path):
    """Issue 12 on the page: 抄送 groups the bureau published are offered beside the unit's own
    (marked, read-only); 需答复的抄送单位 (reply_from) goes to the same library call as
    ``--reply-from``; the status view shows each recipient's 份号 and whether a reply is owed."""
    from smseal.office.context import Office
    from smseal.office.groups import add_group, replace_bureau_groups

    from tests.ui_server import ENV, smseal

    a, _b, shared = make_homes(tmp_path)
    c, desk = tmp_path / "C", tmp_path / "desk"
    c.mkdir(mode=0o700)
    (c / "config.ini").write_text(f"[outbox]\nroot = {shared}\n", encoding="utf-8")
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    try:
        smseal(c, "init", "--unit", "审计局", cwd=desk)
        smseal(c, "keys", "export", "--public", "-o", "c.card", cwd=desk)
        smseal(a, "keys", "import", "c.card", "--yes", cwd=desk)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k)
            else:
                os.environ[k] = v
    with Office(a) as office:
        add_group(office, "本办常用", [UNIT_B])
        # what installing a verified directory bundle with groups does (office.bureau.install_bundle)
        replace_bureau_groups(office, [("各委办局", [UNIT_B, "审计局"])])
    srv = start(a)
    try:
        with httpx.Client(base_url=srv.base, follow_redirects=False, timeout=60) as cl:
            assert cl.get(srv.login_url).status_code == 303
            page = cl.get("/compose").text
            assert "需答复的抄送单位" in page and 'name="reply_from" value="审计局"' in page
            own, bureau = page.index('value="本办常用"'), page.index('value="各委办局"')
            assert own < bureau and "保密局发布" in page[bureau:bureau + 200]
            assert "保密局发布" not in page[own:bureau]
            directory = cl.get("/directory").text
            assert "各委办局" in directory and "保密局发布" in directory
            token = _csrf(cl)
            fields = {"to": UNIT_B, "cc_group": "各委办局", "reply_from": "审计局", "title": "关于报送材料的通知",
                      "urgency": "normal", "passphrase": PASSPHRASE}
            doc = {"main": ("通知.txt", "请于月底前报送。".encode(), "text/plain")}
            # a reply asked without a deadline is refused
            r = cl.post(f"/compose/send?csrf={token}", data=fields, files=doc, headers={"origin": srv.base})
            assert r.status_code == 400 and 'role="alert"' in r.text and "须填写答复期限" in r.text
            fields["reply_by"] = "2099-12-31"
            r = cl.post(f"/compose/send?csrf={token}", data=fields, files=doc, headers={"origin": srv.base})
            assert r.status_code == 200, r.text
            status = cl.get("/status").text
            rows = re.findall(r"<tr class=\"[a-z]+\">(.*?)</tr>", status, re.S)
            assert len(rows) == 2
            main, copy = rows
            assert "000001" in main and UNIT_B in main and "应答复，尚未答复" in main
            assert "000002" in copy and "审计局" in copy and "应答复，尚未答复" in copy
            # without reply_from only the main recipient owes the reply
            del fields["reply_from"]
            r = cl.post(f"/compose/send?csrf={token}", data=fields, files=doc, headers={"origin": srv.base})
            assert r.status_code == 200
            rows = re.findall(r"<tr class=\"[a-z]+\">(.*?)</tr>", cl.get("/status").text, re.S)
            text = "".join(rows)
            assert len(rows) == 4 and text.count("无需答复") == 1 and text.count("应答复，尚未答复") == 3
    finally:
        code, err = srv.stop()
    assert code == 0 and "Traceback" not in err
