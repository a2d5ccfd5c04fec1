"""Run every hostile package in tests/testkit/vectors and check the promised outcome.

For every failure: the named error class, nothing in ``out_dir``, no
temporary folder left behind.  For every success: the files and their bytes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smseal.envelope import inspect, open_package
from shangmi.errors import MalformedPackage
from tests.testkit.kit import EXPECT, KEYS, TRUSTED

VECTORS = sorted((Path(__file__).parent / "testkit" / "vectors").iterdir())


def parse_vector(path: Path) -> tuple[dict[str, str], bytes]:
    raw = path.read_bytes()
    head, _, body = raw.partition(b"\n\n")
    fields = dict(line.split(": ", 1) for line in head.decode().splitlines())
    return fields, body


def test_kit_is_large_and_labelled():
    assert len(VECTORS) >= 40
    for v in VECTORS:
        fields, _ = parse_vector(v)
        assert fields["expect"] in EXPECT, v.name
        assert fields["comment"]


@pytest.mark.parametrize("path", VECTORS, ids=[v.name for v in VECTORS])
def test_vector(path: Path, tmp_path: Path):
    fields, body = parse_vector(path)
    expected = EXPECT[fields["expect"]]
    out = tmp_path / "收文"
    if expected is None:
        res = open_package(body, key=KEYS[fields["key"]], trusted=TRUSTED, out_dir=out)
        assert res.files and all(f.parent == out and f.exists() for f in res.files)
        assert sum(f.stat().st_size for f in res.files) == res.metadata.payload_size
    else:
        with pytest.raises(expected) as err:
            open_package(body, key=KEYS[fields["key"]], trusted=TRUSTED, out_dir=out)
        assert str(err.value)
        assert not out.exists()      # nothing released, no folder left behind
    assert [p.name for p in tmp_path.iterdir()] in ([], ["收文"])


@pytest.mark.parametrize("path", VECTORS, ids=[v.name for v in VECTORS])
def test_inspect_never_crashes(path: Path):
    """inspect reads only the clear header: it succeeds or raises MalformedPackage, nothing else."""
    _, body = parse_vector(path)
    try:
        info = inspect(body)
    except MalformedPackage:
        return
    assert info.recipients[0].role == "to"
