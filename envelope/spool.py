"""``open_stream``: open a package into readers instead of an output folder (for services).

    with open_stream(src, key=ident.decrypters, trusted=directory, max_bytes=50 << 20) as res:
        for f in res.files:            # OpenedFile: name, size, open(), read()
            store(f.name, f.open())

Security properties, the same as ``open_package``'s:
- the sender must be trusted before anything is decrypted, and its SM2 signature must verify
  over the header and every ciphertext byte before anything is handed out;
- the plaintext is spooled to one anonymous temporary file (created 0600 and unlinked at once:
  ``tempfile.TemporaryFile``, O_TMPFILE on Linux), so no other process can open it by name and
  nothing is left behind if the process dies; readers exist only after the signature and the
  last chunk verified, and the spool is closed (its blocks freed) when the ``with`` ends;
- ``max_bytes`` bounds the files' total size: a package known to be larger from its size alone
  is refused before any decryption, otherwise as soon as the (encrypted) file list is read,
  before any file byte is spooled (``SizeLimitExceeded``, code ``size-limit-exceeded``).
"""

from __future__ import annotations

import io
import logging
import os
import struct
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Optional, cast

from shangmi import sm3
from shangmi.errors import InvalidArgument, MalformedPackage, SizeLimitExceeded

from . import primitives as p
from . import stream
from .format import CHUNK_SIZE, SIGNATURE_SIZE, TAG_SIZE, Header, read_prelude
from .metadata import MAX_METADATA_SIZE, Metadata, check_label
from .workflow import check_addressees
from .open import Accept, Keys, _recipients, _unwrap, verify_signature
from .protocols import Decrypter, Trusted, as_trust_store, check_sender_now
from .results import OpenResult
from .source import Src, open_source

_log = logging.getLogger("smseal.envelope")   # ids and counts only, never names or titles


@dataclass(frozen=True, eq=False)
class OpenedFile:
    """One file of a package opened by ``open_stream``; valid inside its ``with`` block only.

    ``name`` is the file name from the package (confidential, like the title: the repr shows
    only the size).  ``open()`` gives an independent binary stream over the file; several may
    be read at once, from several threads.  ``read()`` returns the whole file as bytes.
    After the ``with`` block both raise ``InvalidArgument`` (code ``package-closed``).
    """

    name: str
    size: int
    _spool: "_Spool"
    _offset: int

    def open(self) -> BinaryIO:
        """A new read-only binary stream over this file (seekable, starts at 0)."""
        self._spool.check_open()
        return cast(BinaryIO, io.BufferedReader(_Slice(self._spool, self._offset, self.size)))

    def read(self) -> bytes:
        """The whole file (``size`` bytes in memory: prefer ``open()`` for large files)."""
        with self.open() as f:
            return f.read()

    def __repr__(self) -> str:
        return f"<OpenedFile {self.size} bytes>"


class _Spool:
    """The anonymous temporary file holding the verified plaintext, shared by the readers."""

    def __init__(self, directory: str | os.PathLike[str] | None) -> None:
        self.file = tempfile.TemporaryFile(dir=directory)    # 0600, already unlinked
        self._closed = False
        self._lock = threading.Lock()

    def check_open(self) -> None:
        if self._closed:
            raise InvalidArgument("the package was closed: read its files inside the with block",
                                  code="package-closed")

    def pread(self, n: int, offset: int) -> bytes:
        self.check_open()
        return os.pread(self.file.fileno(), n, offset)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self.file.close()


class _Slice(io.RawIOBase):
    """``size`` bytes of the spool from ``offset``, read with pread (no shared file position)."""

    def __init__(self, spool: _Spool, offset: int, size: int) -> None:
        self._spool, self._offset, self._size, self._pos = spool, offset, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buf: bytearray | memoryview) -> int:   # type: ignore[override]
        n = min(len(buf), self._size - self._pos)
        if n <= 0:
            return 0
        data = self._spool.pread(n, self._offset + self._pos)
        buf[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise InvalidArgument("negative seek position")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos


class _SpoolSink:
    """Takes the payload plaintext in order: parses the metadata prefix, spools the rest."""

    def __init__(self, spool: _Spool, max_bytes: int | None, stanzas: list[tuple[str, bytes]]) -> None:
        self._spool, self._max, self._stanzas = spool, max_bytes, stanzas
        self._prefix = bytearray()
        self.metadata: Metadata | None = None
        self._expected = self._written = 0

    def write(self, data: bytes | bytearray) -> None:
        if self.metadata is None:
            self._prefix += data
            data = self._parse_prefix()
        if not data:
            return
        self._written += len(data)
        if self._written > self._expected:
            raise MalformedPackage("the payload is longer than its file list says")
        self._spool.file.write(data)

    def _parse_prefix(self) -> bytes:
        """Once the u32 length and the whole metadata are in: parse, check, return what follows."""
        if len(self._prefix) < 4:
            return b""
        (length,) = struct.unpack(">I", self._prefix[:4])
        if not 0 < length <= MAX_METADATA_SIZE:
            raise MalformedPackage("the metadata is empty" if length == 0 else "the metadata is larger than its limit")
        if len(self._prefix) < 4 + length:
            return b""
        meta = Metadata.parse(bytes(self._prefix[4:4 + length]))
        check_addressees(meta.recipients, self._stanzas)
        check_label(meta.label)
        if self._max is not None and meta.payload_size > self._max:
            raise SizeLimitExceeded("the package's files hold {size} bytes, more than the limit of {limit}",
                                    limit=str(self._max), size=str(meta.payload_size))
        self.metadata, self._expected = meta, meta.payload_size
        rest, self._prefix = bytes(self._prefix[4 + length:]), bytearray()
        return rest

    def finish(self) -> Metadata:
        if self.metadata is None:
            raise MalformedPackage("the payload ends inside the metadata")
        if self._written != self._expected:
            raise MalformedPackage("the payload is shorter than its file list says")
        self._spool.file.flush()
        return self.metadata


def _read_prelude(f: BinaryIO, size: int | None, max_bytes: int | None) -> tuple[bytes, Header]:
    """The prelude; with a known package size, refuse one too large for ``max_bytes`` already."""
    prelude, header = read_prelude(f)
    if max_bytes is not None and size is not None:
        ct = size - len(prelude) - SIGNATURE_SIZE
        chunks = max(1, -(-ct // (CHUNK_SIZE + TAG_SIZE)))
        least = ct - chunks * TAG_SIZE - 4 - MAX_METADATA_SIZE    # files hold at least this much
        if least > max_bytes:
            raise SizeLimitExceeded("the package is larger than the limit of {limit} bytes", limit=str(max_bytes))
    return prelude, header


def _sm3(f: OpenedFile) -> bytes:
    h = sm3.SM3()
    with f.open() as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            h.update(block)
    return h.digest()


def _decrypters(key: Keys) -> list[Decrypter]:
    return list(key) if isinstance(key, (list, tuple)) else [key]  # type: ignore[list-item]


@contextmanager
def open_stream(src: Src, *, key: Keys, trusted: Trusted, max_bytes: int | None = None,
                spool_dir: str | os.PathLike[str] | None = None,
                accept: Optional[Accept] = None,
                accept_before_revocation: bool = False) -> Iterator[OpenResult[OpenedFile]]:
    """Open ``src`` like ``open_package``, but yield readers instead of writing an output folder.

    A context manager yielding an ``OpenResult`` whose ``files`` are ``OpenedFile`` readers
    (``name``, ``size``, ``open()``, ``read()``), main document first.  Nothing is handed out
    before the sender's signature and the last chunk verify; the plaintext waits in an
    anonymous 0600 temporary file (in ``spool_dir``, default the system's temporary folder)
    that is gone when the block ends.  ``max_bytes`` refuses packages whose files hold more
    bytes (``SizeLimitExceeded``), before decrypting them.  Raises what ``open_package``
    raises, except ``OutputExists``.  Costs: one pass over ``src``, the files' size in
    temporary disk space, memory bounded by the STREAM batches (a few MiB).

    ``accept`` works as in ``open_package``: called with the authenticated result
    (``file_digests`` filled when the metadata carries an approval) before anything is
    yielded; whatever it raises refuses the package.  The sender must still be valid
    today, as in ``open_package`` (``SenderNoLongerValid`` unless
    ``accept_before_revocation=True``).
    """
    if max_bytes is not None and (not isinstance(max_bytes, int) or max_bytes < 0):
        raise InvalidArgument("max_bytes is a whole number of bytes, or None", code="bad-max-bytes")
    decrypters = _decrypters(key)
    trust = as_trust_store(trusted)
    with open_source(src) as (f, _armored, size):
        prelude, header = _read_prelude(f, size, max_bytes)
        unit, no_longer = check_sender_now(trust, header.sender_key, header.sealed_datetime,
                                           accept_before_revocation=accept_before_revocation)
        file_key, stanza = _unwrap(header, decrypters)
        spool = _Spool(spool_dir)
        try:
            sink = _SpoolSink(spool, max_bytes, [(s.role, s.key_id) for s in header.recipients])
            payload_digest, signature = stream.decrypt(
                p.payload_key(file_key, header.salt), f, sink.write,
                trailer_size=SIGNATURE_SIZE, chunk_size=CHUNK_SIZE)
            verify_signature(header.sender_key, prelude, payload_digest, signature)
            meta = sink.finish()
        except BaseException:
            spool.close()
            raise
    _log.info("opened package %s from %s as %s into a spool", header.package_id.hex(),
              header.sender_key.key_id().hex(), stanza.role)
    try:
        files, offset = [], 0
        for entry in meta.files:
            files.append(OpenedFile(entry.name, entry.size, spool, offset))
            offset += entry.size
        result = OpenResult(
            package_id=header.package_id,
            package_digest=p.package_digest(prelude, payload_digest, signature),
            sealed_at=header.sealed_datetime, urgency=header.urgency, sender=unit,
            sender_key=header.sender_key, recipient_key_id=stanza.key_id, role=stanza.role,
            recipients=_recipients(header), metadata=meta, files=tuple(files),
            file_digests=tuple(_sm3(f) for f in files) if meta.approval is not None else (),
            sender_no_longer_valid=no_longer)
        if accept is not None:
            accept(result)
        yield result
    finally:
        spool.close()
