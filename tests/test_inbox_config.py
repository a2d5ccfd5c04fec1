"""[imap] and [reminders] in config.ini: what is accepted, what is refused with a clear line."""

from __future__ import annotations

import pytest

from smseal.office.config import Config, ConfigError, parse_duration


def _config(tmp_path, text: str) -> Config:
    (tmp_path / "config.ini").write_text(text, encoding="utf-8")
    return Config(tmp_path)


def test_imap_settings_and_password_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SMSEAL_IMAP_PASSWORD", "from-env")
    s = _config(tmp_path, "[imap]\nhost = mail.example.gov.cn\nusername = bgs\n").imap()
    assert (s.port, s.security, s.folder, s.processed, s.password) == (993, "tls", "INBOX", "$SmsealDone",
                                                                      "from-env")
    assert "from-env" not in repr(s)
    s = _config(tmp_path, "[imap]\nhost = h\nusername = u\nsecurity = starttls\nprocessed = folder:已处理\n").imap()
    assert (s.port, s.processed) == (143, "folder:已处理")
    assert _config(tmp_path, "[smtp]\nhost = h\n").imap() is None


@pytest.mark.parametrize("text", [
    "[imap]\nhost = mail.example.gov.cn\nusername = u\nsecurity = none\n",     # plain only on loopback
    "[imap]\nhost = h\nusername = u\nsecurity = ssl\n",
    "[imap]\nhost = h\nusername = u\nport = imaps\n",
    "[imap]\nhost = h\n",                                                       # no username
    "[imap]\nhost = h\nusername = u\nprocessed = Seen\n",
])
def test_imap_settings_refused(tmp_path, text):
    with pytest.raises(ConfigError):
        _config(tmp_path, text).imap()


def test_reminder_intervals(tmp_path):
    c = _config(tmp_path, "")
    assert (c.reminder_interval("extra-urgent"), c.reminder_interval("urgent"), c.reminder_interval("normal"),
            c.reminder_max()) == (1800, 4 * 3600, None, 3)
    c = _config(tmp_path, "[reminders]\nextra-urgent = 10m\nurgent = 1d\nmax = 0\n")
    assert (c.reminder_interval("extra-urgent"), c.reminder_interval("urgent"), c.reminder_max()) == (600, 86400, 0)
    assert parse_duration("90") == 90 and parse_duration("1.5h") == 5400
    for bad in ("soon", "-5m", "0"):
        with pytest.raises(ConfigError):
            parse_duration(bad)
