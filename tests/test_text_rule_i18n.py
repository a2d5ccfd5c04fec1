"""The text and file-name rules' reasons (``{problem}`` in the library's messages) read in
Chinese under a Chinese locale (issue 15): before, "第 2 个文件名被拒绝：contains an invisible or
bidirectional formatting character (U+202E)" showed the rule's English inside the sentence."""

from __future__ import annotations

import pytest

from shangmi.errors import MalformedPackage
from smseal.envelope import paths
from smseal.envelope.text import text_problem
from smseal.office.messages import ENGLISH_RUN, detail, problem

# One sample for every reason the two rules can give.
TEXTS = ["", "a\x1bb", "a\x85b", "a\u2028b", "a\u202eb", "a\u3164b"]
NAMES = ["", "a" * 300, "a\x07.txt", "a\ue000.txt", "a\U000e0001.txt", "a\u0378.txt", "a\u034f.txt",
         "a/b.txt", "e\u0301.txt", "..", "a.txt.", "CON.txt", "a\u202e.txt"]


def _reasons() -> list[str]:
    found = [text_problem(t) for t in TEXTS] + [paths.name_problem(n) for n in NAMES]
    assert all(found), list(zip(TEXTS + NAMES, found))
    return [str(f) for f in found]


def test_every_reason_of_the_rules_is_sampled():
    # a new reason in envelope/text.py or paths.py needs a sample here and a catalog entry
    assert len(set(_reasons())) >= 17


@pytest.mark.parametrize("reason", _reasons())
def test_each_reason_reads_in_chinese(monkeypatch, reason):
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    shown = problem(reason)
    assert not ENGLISH_RUN.search(shown.replace("Unicode NFC", "").replace("Windows", "")), shown
    monkeypatch.setenv("LANGUAGE", "en")
    assert problem(reason) == reason


def test_a_refused_file_name_is_one_chinese_sentence(monkeypatch):
    with pytest.raises(MalformedPackage) as info:
        paths.check_names(["正文.txt", "附件\u202e.txt"], MalformedPackage)
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    shown = detail(info.value)
    assert shown == "第 2 个文件名被拒绝：含有不可见字符或双向文字格式控制字符（U+202E）", shown


def test_a_certificate_not_valid_yet_is_not_called_expired(monkeypatch):
    """A key whose certificate starts tomorrow was reported as 'has expired'; the advice now
    covers both ends of the validity period."""
    from shangmi.errors import ExpiredCertificate
    from smseal.office.messages import describe

    err = ExpiredCertificate("the key of {unit} is not valid before {time}", unit="财政局",
                             time="2027-01-01T00:00:00Z")
    for language, not_said in (("en", "has expired ("), ("zh_CN", "证书已过期")):
        monkeypatch.setenv("LANGUAGE", language)
        assert not_said not in describe(err) and "?" not in describe(err), describe(err)
        assert "2027-01-01" in describe(err)
