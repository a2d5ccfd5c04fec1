"""``seal``: encrypt a package for its recipients and sign it as the sender.

Security properties: only the holders of the ``to``/``cc`` decryption keys
can read the payload (titles and file names included); the sender's SM2
signature covers the exact header — every recipient stanza, the package
id and time — and the SM3 of every ciphertext byte, so no recipient can
re-address, alter or re-use the package in the sender's name.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Sequence, Union

from shangmi import sm2
from shangmi.errors import InvalidArgument, InvalidSignature, WrongArgumentType

from . import armor as _armor
from . import primitives as p
from . import stream
from .format import CHUNK_SIZE, MAX_RECIPIENTS, ROLE_CC, ROLE_TO, Header, Stanza
from .package import Package, _Input
from .placing import place, refuse_existing
from .protocols import Signer
from .results import RecipientInfo, SealResult
from .encoding import der_to_raw
from .workflow import Addressee, number_copies

_log = logging.getLogger("smseal.envelope")   # ids and counts only, never names or titles

Out = Union[str, "os.PathLike[str]", BinaryIO]


def seal(package: Package, *, sender: Signer, to: sm2.PublicKey,
         cc: Sequence[sm2.PublicKey] = (), out: Out, armor: bool = False,
         overwrite: bool = False) -> SealResult:
    """Seal ``package`` for one main recipient ``to`` and any number of ``cc``.

    ``sender`` signs (a ``Signer``: key file, token, ``sm2.PrivateKey``).
    ``out`` is a path (written beside it, renamed into place when complete;
    ``OutputExists`` unless ``overwrite``) or a binary stream.  Raises
    ``InvalidArgument`` (a ``ValueError``; code ``duplicate-recipient``,
    ``too-many-recipients``, ``recipients-differ`` when ``package.addressees`` names other
    keys or roles) for a bad recipient list, ``InvalidSignature``
    if the signer's signature does not verify under its own public key.
    """
    return _seal(package, sender=sender, to=to, cc=cc, out=out, armor=armor,
                 overwrite=overwrite, chunk_size=CHUNK_SIZE)


def _seal(package: Package, *, sender: Signer, to: sm2.PublicKey, cc: Sequence[sm2.PublicKey],
          out: Out, armor: bool, overwrite: bool, chunk_size: int) -> SealResult:
    keys = [(ROLE_TO, to), *((ROLE_CC, k) for k in cc)]
    if len(keys) > MAX_RECIPIENTS:
        raise InvalidArgument("at most {limit} recipients", code='too-many-recipients', limit=str(MAX_RECIPIENTS))
    for _, k in keys:
        if not isinstance(k, sm2.PublicKey):
            raise WrongArgumentType("recipients are sm2.PublicKey objects", code="not-a-public-key")
    seen: set[bytes] = set()
    for _, k in keys:
        if k.key_id() in seen:
            raise InvalidArgument("a recipient is named twice", code="duplicate-recipient",
                                  key_id=k.key_id().hex())
        seen.add(k.key_id())
    file_key = secrets.token_bytes(p.FILE_KEY_SIZE)
    salt = secrets.token_bytes(p.SALT_SIZE)
    header = Header(package_id=secrets.token_bytes(p.PACKAGE_ID_SIZE), sealed_at=int(time.time()),
                    urgency=package.urgency, sender=sender.public_key().to_bytes(), salt=salt,
                    commitment=p.commitment(file_key, salt),
                    recipients=tuple(Stanza(role, k.key_id(), k.encrypt(file_key)) for role, k in keys))
    meta = package.metadata()
    if not meta.recipients:
        copies = (number_copies(package.copy_number, len(keys)) if package.copy_number
                  else [None] * len(keys))
        meta = dataclasses.replace(meta, recipients=tuple(Addressee(s.role, s.key_id, None, n)
                                                          for s, n in zip(header.recipients, copies)))
    elif [(a.role, a.key_id) for a in meta.recipients] != [(s.role, s.key_id) for s in header.recipients]:
        raise InvalidArgument("the package names other recipients than the keys it is sealed to",
                              code="recipients-differ")
    plain = _PlainReader(meta.serialize(), package.inputs())
    with _output(out, armor, overwrite) as sink:
        prelude, payload_digest, signature, size = write_package(
            sink, header, p.payload_key(file_key, salt), plain.read, plain.total, sender,
            chunk_size=chunk_size)
        plain.finish()
    _log.info("sealed package %s for %d recipient(s), %d bytes", header.package_id.hex(), len(keys), size)
    return SealResult(header.package_id, p.package_digest(prelude, payload_digest, signature),
                      header.sealed_datetime,
                      tuple(RecipientInfo(s.role, s.key_id) for s in header.recipients), size)


def write_package(write: Callable[[bytes | bytearray], object], header: Header, payload_key: bytes,
                  read: Callable[[int], bytes], total: int, sender: Signer,
                  *, chunk_size: int = CHUNK_SIZE) -> tuple[bytes, bytes, bytes, int]:
    """Write prelude, STREAM payload and signature; return (prelude, payload digest, signature, size)."""
    prelude = header.prelude()
    write(prelude)
    counted = _Counting(write)
    payload_digest = stream.encrypt(payload_key, read, total, counted, chunk_size=chunk_size)
    signature = sign(sender, prelude, payload_digest)
    write(signature)
    return prelude, payload_digest, signature, len(prelude) + counted.n + len(signature)


def sign(sender: Signer, prelude: bytes, payload_digest: bytes) -> bytes:
    """The 64-byte trailer: the sender's signature, checked before it is written.

    Checking catches a token or key file that signs with another signer ID
    or key: better a clear error now than packages nobody can open.
    """
    message = p.signed_message(prelude, payload_digest)
    raw = der_to_raw(sender.sign(message))
    try:
        sender.public_key().verify(raw, message, format="raw")
    except InvalidSignature:
        raise InvalidSignature("the sender's signature does not verify under its public key "
                               "(wrong key or signer ID on the token?)") from None
    return raw


class _Counting:
    def __init__(self, write: Callable[[bytes | bytearray], object]) -> None:
        self._write, self.n = write, 0

    def __call__(self, data: bytes | bytearray) -> None:
        self.n += len(data)
        self._write(data)


class _PlainReader:
    """The payload plaintext: metadata, then each file's bytes, read in exact amounts."""

    def __init__(self, meta: bytes, inputs: list[_Input]) -> None:
        self.total = len(meta) + sum(i.size for i in inputs)
        self._meta = meta
        self._inputs = iter(inputs)
        self._cur: Any = None      # the _Input being read, and its open stream (None between files)
        self._f: Any = None
        self._left = 0

    def read(self, n: int) -> bytes:
        if not self._meta and 0 < n <= self._left:
            piece: bytes = self._f.read(n)   # the common case: a whole chunk from one file, no copy
            if len(piece) == n:
                self._left -= n
                return piece
            out = bytearray(piece)
            self._left -= len(piece)
        else:
            out = bytearray()
        if self._meta:
            out += self._meta[:n]
            self._meta = self._meta[n:]
        while len(out) < n:
            while self._left == 0:      # skips empty files wherever they are
                self._next_file()
            piece = self._f.read(min(n - len(out), self._left))
            if not piece:
                raise OSError(f"{self._cur.name} became shorter while it was being sealed")
            out += piece
            self._left -= len(piece)
        return bytes(out)

    def _next_file(self) -> None:
        self.check_end()
        self._cur = next(self._inputs, None)
        if self._cur is None:
            raise OSError("a file grew while it was being sealed")
        self._f = self._cur.open()
        self._left = self._cur.size

    def check_end(self) -> None:
        """The file just finished must have no more bytes than were announced."""
        if self._f is not None:
            extra = self._f.read(1)
            self._f.close()
            self._f = None
            if extra:
                raise OSError(f"{self._cur.name} grew while it was being sealed")

    def finish(self) -> None:
        """After the last byte: the last file and any empty files after it are still that size."""
        self.check_end()
        for self._cur in self._inputs:
            self._f = self._cur.open()
            self.check_end()


@contextmanager
def _output(out: Out, armor: bool, overwrite: bool) -> Iterator[Callable[[bytes | bytearray], object]]:
    if isinstance(out, (str, os.PathLike)):
        dst = Path(out)
        refuse_existing(dst, overwrite)
        fd, tmp_name = tempfile.mkstemp(prefix=".smseal-seal-", dir=dst.parent or ".")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as f:
                with _armored(f, armor) as write:
                    yield write
            place(tmp, dst, overwrite)
        finally:
            tmp.unlink(missing_ok=True)
    else:
        with _armored(out, armor) as write:
            yield write


@contextmanager
def _armored(f: BinaryIO, armor: bool) -> Iterator[Callable[[bytes | bytearray], object]]:
    if not armor:
        yield f.write
        return
    w = _armor.ArmorWriter(f, _armor.PACKAGE)
    yield w.write
    w.close()
