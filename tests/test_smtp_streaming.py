"""Sending by SMTP streams the package from its file (office/mailstream.py): the message is the one
``compose`` makes, cut at a placeholder, and the package is base64- (or armor-) encoded block by block
straight into DATA — it used to be read whole, encoded whole and flattened several times (about 5x the
package in memory).  The size announced in ``MAIL FROM ... SIZE=`` is exact.  Against the real
aiosmtpd + Dovecot; the memory is measured in benchmarks/bench_inbox.py."""

from __future__ import annotations

import json
import os
import smtplib
from pathlib import Path

import pytest

from tests.cli_helpers import units  # noqa: F401  (fixture)
from tests.imap_server import mail_system  # noqa: F401  (fixture)
from tests.test_inbox_imap import A_ADDR, B_ADDR, _configure, send_split


@pytest.fixture
def watched(monkeypatch):
    seen = {"sizes": [], "data": []}
    mail, data = smtplib.SMTP.mail, smtplib.SMTP.data
    read_bytes = Path.read_bytes

    def rec_mail(self, sender, options=()):
        seen["sizes"] += [int(o.split("=")[1]) for o in options if o.upper().startswith("SIZE=")]
        return mail(self, sender, options)

    def rec_data(self, msg):
        seen["data"].append(len(msg))
        return data(self, msg)

    def no_whole_package(self):
        if self.suffix == ".smx" and self.stat().st_size > 200_000:
            raise AssertionError(f"{self} read whole to be mailed")
        return read_bytes(self)

    monkeypatch.setattr(smtplib.SMTP, "mail", rec_mail)
    monkeypatch.setattr(smtplib.SMTP, "data", rec_data)
    monkeypatch.setattr(Path, "read_bytes", no_whole_package)
    return seen


@pytest.mark.parametrize("armor", [False, True])
def test_package_mail_is_streamed_with_its_exact_size(units, mail_system, watched, armor):
    a, b, desk, shared = units
    ms = mail_system
    _configure(a, ms, A_ADDR)
    _configure(b, ms, B_ADDR)
    (desk / "大附件.bin").write_bytes(os.urandom(1_000_003))
    res = a("send", "大附件.bin", "--to", "财政局", "--json", *(["--armor"] if armor else []))
    assert res.code == 0, res.err
    pid = json.loads(res.out)["package_id"]
    assert not [n for n in watched["data"] if n > 100_000]          # never the package through data()
    assert watched["sizes"] == [size for _rcpt, size in ms.delivered]   # SIZE= is what went over the wire
    res = b("fetch", "--json")
    assert res.code == 0, res.err
    assert [e["package_id"] for e in json.loads(res.out)["new"]] == [pid]
    assert b("open", "--next", "-o", "收文").code == 0
    assert (desk / "收文" / "大附件.bin").read_bytes() == (desk / "大附件.bin").read_bytes()


def test_split_parts_are_streamed_within_the_limit(units, mail_system, watched):
    a, b, desk, shared = units
    ms = mail_system
    pid = send_split(a, b, desk, ms, limit=150_000, size=400_000)["package_id"]
    sizes = [size for _rcpt, size in ms.delivered]
    assert len(sizes) >= 3 and watched["sizes"] == sizes and max(sizes) <= 150_000
    assert max(sizes) > 150_000 * 0.8                                 # parts fill the limit
    res = b("fetch", "--json")
    assert [e["package_id"] for e in json.loads(res.out)["new"]] == [pid]
