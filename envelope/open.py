"""``open_package`` and ``inspect``: read a sealed package, strictly and without early release.

Security properties of ``open_package``:
- the sender must be trusted (checked before any decryption) and its SM2
  signature must verify over the exact header and the SM3 of every
  ciphertext byte; otherwise nothing is released;
- plaintext is written only to a private temporary folder beside
  ``out_dir`` under opaque names, and moved into place only after the
  signature and the final chunk verify; on any failure it is removed;
- file names come from a strict check (``paths``) and never leave
  ``out_dir``; existing files are kept unless ``overwrite=True``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import stat
import struct
import tempfile
import time
from pathlib import Path
from typing import Any, BinaryIO, Callable, Optional, Sequence, Union, cast

from shangmi import sm2, sm3
from shangmi.errors import (DecryptionError, InvalidSignature, MalformedInput, MalformedPackage,
                            NoMatchingKey)

from . import primitives as p
from . import stream
from .format import CHUNK_SIZE, SIGNATURE_SIZE, Header, Stanza, read_prelude
from .metadata import MAX_METADATA_SIZE, Metadata, check_label
from .workflow import check_addressees
from .placing import check_target_at, names_from_package, open_dir_nofollow, place_all_at
from .protocols import Decrypter, Trusted, as_trust_store, check_sender_now
from .results import OpenResult, PackageInfo, RecipientInfo, VerifyResult
from .source import Src, open_source

_log = logging.getLogger("smseal.envelope")   # ids and counts only, never names or titles

Keys = Union[Decrypter, Sequence[Decrypter]]
# Called with the authenticated result (``files`` = where they will be placed, nothing placed
# yet); raising refuses the package and nothing is written.  Workflow policy (签发) hooks here.
Accept = Callable[[OpenResult[Any]], None]


def open_package(src: Src, *, key: Keys, trusted: Trusted, out_dir: str | os.PathLike[str],
                 overwrite: bool = False, accept: Optional[Accept] = None,
                 accept_before_revocation: bool = False) -> OpenResult[Path]:
    """Open ``src`` (path, bytes or binary stream; binary or armored) into ``out_dir``.

    ``src`` is read once, front to back, through one file descriptor: what is
    checked is what is opened.  ``key`` is one ``Decrypter`` or a list (only
    keys named in the header are asked to decrypt); ``trusted`` a list of
    ``sm2.PublicKey`` or a ``TrustStore``.  The sender must be trusted when
    the package says it was sealed *and still today*: a revoked or expired
    sender's package raises ``SenderNoLongerValid`` unless
    ``accept_before_revocation=True`` (then ``OpenResult.sender_no_longer_valid``
    says why).  Raises ``MalformedPackage``, ``NoMatchingKey``,
    ``DecryptionError``, ``UntrustedSender`` / ``RevokedKey`` /
    ``ExpiredCertificate`` (from the trust store), ``InvalidTag``,
    ``InvalidSignature``, ``PolicyError`` (a state-secret label, or
    ``out_dir`` is a symbolic link) or ``OutputExists`` (checked for every
    file before any is written).  On any of them ``out_dir`` is unchanged.
    Files are written 0600; folders it creates are 0700.

    ``accept``, if given, is called once everything is authenticated and
    before any file is placed, with the result (``file_digests`` filled when
    the metadata carries an approval); whatever it raises refuses the
    package with nothing written.
    """
    return _open(src, key=key, trusted=trusted, out_dir=out_dir, overwrite=overwrite,
                 chunk_size=CHUNK_SIZE, accept=accept, accept_before_revocation=accept_before_revocation)


def _open(src: Src, *, key: Keys, trusted: Trusted, out_dir: str | os.PathLike[str],
          overwrite: bool, chunk_size: int, accept: Optional[Accept] = None,
          accept_before_revocation: bool = False) -> OpenResult[Path]:
    decrypters = cast("list[Decrypter]", list(key) if isinstance(key, (list, tuple)) else [key])
    trust = as_trust_store(trusted)
    out = Path(out_dir)
    with open_source(src) as (f, _armored, _size):
        prelude, header = read_prelude(f)
        sender_key = header.sender_key
        _require_addressed(header, decrypters)     # costs no private-key operation
        unit, no_longer = check_sender_now(trust, sender_key, header.sealed_datetime,
                                           accept_before_revocation=accept_before_revocation)
        file_key, stanza = _unwrap(header, decrypters)
        created = _make_dirs(out)
        out_fd = tmp_fd = -1
        tmp: Path | None = None
        try:
            out_fd = open_dir_nofollow(out)
            tmp = _private_dir_beside(out)
            tmp_fd = open_dir_nofollow(tmp)
            sink = _FileSink(tmp_fd, out_fd, out, overwrite, [(s.role, s.key_id) for s in header.recipients])
            payload_digest, signature = stream.decrypt(
                p.payload_key(file_key, header.salt), f, sink.write,
                trailer_size=SIGNATURE_SIZE, chunk_size=chunk_size)
            verify_signature(sender_key, prelude, payload_digest, signature)
            sink.check_complete()
            result = OpenResult(
                package_id=header.package_id,
                package_digest=p.package_digest(prelude, payload_digest, signature),
                sealed_at=header.sealed_datetime, urgency=header.urgency, sender=unit,
                sender_key=sender_key, recipient_key_id=stanza.key_id, role=stanza.role,
                recipients=_recipients(header), metadata=sink.metadata,
                files=tuple(out / e.name for e in sink.metadata.files),
                file_digests=sink.file_digests(), sender_no_longer_valid=no_longer)
            if accept is not None:
                accept(result)
            files = sink.place_all()
        except BaseException:
            for d in created:          # a refused package leaves no trace, not even out_dir
                try:
                    d.rmdir()
                except OSError:
                    pass
            raise
        finally:
            for fd in (out_fd, tmp_fd):
                if fd >= 0:
                    os.close(fd)
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
    _log.info("opened package %s from %s as %s", header.package_id.hex(), sender_key.key_id().hex(),
              stanza.role)
    return dataclasses.replace(result, files=tuple(files))


def verify_signature(sender_key: sm2.PublicKey, prelude: bytes, payload_digest: bytes,
                     signature: bytes) -> None:
    """Raise ``InvalidSignature`` unless the trailer is the sender's signature of this package."""
    try:
        sender_key.verify(signature, p.signed_message(prelude, payload_digest), format="raw")
    except InvalidSignature:
        raise InvalidSignature("the sender's signature does not verify: the package was altered, "
                               "re-addressed or not sealed by this sender") from None


def _require_addressed(header: Header, decrypters: list[Decrypter]) -> None:
    """``NoMatchingKey`` unless some stanza names one of our keys (checked first: it is the
    most useful answer for a package that is not ours, and needs no trust and no unlock)."""
    if not any(header.stanzas_for(d.public_key().key_id()) for d in decrypters):
        raise NoMatchingKey("this package is not addressed to any key held here",
                            hint="a package opens only with the addressed unit's own key (密件不许代领)")


def _unwrap(header: Header, decrypters: list[Decrypter]) -> tuple[bytes, Stanza]:
    """Find a stanza addressed to a key we hold and recover the file key from it.

    Only stanzas naming one of our key ids are tried (a package for others
    costs us no private-key operation).  The recovered key must match the
    signed commitment, so every recipient reads the same payload.
    """
    tried = False
    for d in decrypters:
        for st in header.stanzas_for(d.public_key().key_id()):
            tried = True
            try:
                file_key = d.decrypt(st.wrapped)
            except (DecryptionError, MalformedInput):
                continue
            if len(file_key) == p.FILE_KEY_SIZE and p.commitment_matches(file_key, header.salt,
                                                                          header.commitment):
                return file_key, st
    if tried:
        raise DecryptionError("the file key addressed to us could not be recovered")
    raise NoMatchingKey("this package is not addressed to any key held here",
                        hint="a package opens only with the addressed unit's own key (密件不许代领)")


def _make_dirs(out: Path) -> list[Path]:
    """Create ``out`` and its missing parents (0700); return those created, deepest first."""
    missing = []
    d = out
    while not os.path.lexists(d) and d != d.parent:
        missing.append(d)
        d = d.parent
    for m in reversed(missing):
        try:
            os.mkdir(m, 0o700)
        except FileExistsError:
            pass
    return missing


_STARTED = time.time()
_PRIVATE_PREFIX = ".smseal-open-"
_PRIVATE_RE = re.compile(re.escape(_PRIVATE_PREFIX) + r"(\d+)-[A-Za-z0-9_]+$")


def _private_dir_beside(out: Path) -> Path:
    """A 0700 folder on the same file system as ``out`` (so moving into place is a rename).

    Its name carries our process id, so a later run can tell an abandoned one
    (its process is gone) from one in use, and sweep it (``sweep_stale``)."""
    prefix = f"{_PRIVATE_PREFIX}{os.getpid()}-"
    parent = out.resolve().parent
    try:
        if os.stat(parent).st_dev == os.stat(out).st_dev:
            sweep_stale(parent)
            return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    except OSError:
        pass  # parent not writable or not statable: use a hidden folder inside out_dir
    sweep_stale(out)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=out))


def sweep_stale(folder: str | os.PathLike[str]) -> list[str]:
    """Remove private folders an interrupted ``open`` left in ``folder``; return their names.

    Only folders named like ours, owned by this user, not symbolic links, older
    than this run, whose process no longer exists: never one another open is
    still using.  They hold plaintext that was never authenticated."""
    removed: list[str] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = _PRIVATE_RE.match(name)
        if not m:
            continue
        path = os.path.join(folder, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if (not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mtime >= _STARTED
                or _process_alive(int(m.group(1)))):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(name)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True        # exists, owned by someone else
    return True


class _FileSink:
    """Receives payload plaintext in order: metadata first, then each file's bytes.

    Parts are created 0600 with O_EXCL|O_NOFOLLOW inside the private folder
    (``tmp_fd``) under opaque names; package-chosen names touch the disk only
    in ``place_all``, relative to the output folder's descriptor."""

    def __init__(self, tmp_fd: int, out_fd: int, out: Path, overwrite: bool,
                 stanzas: list[tuple[str, bytes]]) -> None:
        self._tmp_fd, self._out_fd, self._out, self._overwrite = tmp_fd, out_fd, out, overwrite
        self._stanzas = stanzas
        self._head = bytearray()
        self.metadata: Any = None         # the Metadata, once its prefix is in
        self._index = -1
        self._left = 0
        self._f: Any = None               # the part being written, between files None
        self._hashes: list[Any] | None = None     # per-file SM3, only when an approval must be checked

    def file_digests(self) -> tuple[bytes, ...]:
        """SM3 of each file's content when the metadata carries an approval, else ()."""
        return tuple(h.digest() for h in self._hashes) if self._hashes is not None else ()

    def write(self, data: bytes | bytearray) -> None:
        view = memoryview(data)
        if self.metadata is None:
            view = self._take_metadata(view)
        while view:
            if self._left == 0:
                self._next_file()
            n = min(self._left, len(view))
            self._f.write(view[:n])
            if self._hashes is not None:
                self._hashes[self._index].update(view[:n])
            self._left -= n
            view = view[n:]

    def _take_metadata(self, view: memoryview) -> memoryview:
        while self.metadata is None and view:
            need = 4 if len(self._head) < 4 else 4 + struct.unpack(">I", self._head[:4])[0]
            take = min(need - len(self._head), len(view))
            self._head += view[:take]
            view = view[take:]
            if len(self._head) == 4:
                size = struct.unpack(">I", self._head)[0]
                # size 0 would make `need` == 4 forever: the loop could not progress.
                if size == 0:
                    raise MalformedPackage("the metadata is empty")
                if size > MAX_METADATA_SIZE:
                    raise MalformedPackage("the metadata is larger than its limit")
            if len(self._head) == need and need > 4:
                self._got_metadata(Metadata.parse(bytes(self._head[4:])))
        return view

    def _got_metadata(self, meta: Metadata) -> None:
        """Refuse a recipient list unlike the header's, a state-secret label or any output we
        may not write, before any file byte."""
        check_addressees(meta.recipients, self._stanzas)
        check_label(meta.label)
        with names_from_package(self._out):
            for entry in meta.files:
                check_target_at(entry.name, self._out_fd, self._overwrite, self._out / entry.name)
        self.metadata = meta
        if meta.approval is not None:
            self._hashes = [sm3.SM3() for _ in meta.files]
        self._head = bytearray()

    def _create(self, i: int) -> BinaryIO:
        fd = os.open(self._part(i), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=self._tmp_fd)
        return os.fdopen(fd, "wb")

    def _next_file(self) -> None:
        self._close()
        self._index += 1
        files = self.metadata.files
        while self._index < len(files) and files[self._index].size == 0:
            self._create(self._index).close()
            self._index += 1
        if self._index >= len(files):
            raise MalformedPackage("the payload is longer than its file list says")
        self._f = self._create(self._index)
        self._left = files[self._index].size

    @staticmethod
    def _part(i: int) -> str:
        return f"{i}.part"     # opaque: no package-chosen name touches the disk yet

    def _close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def check_complete(self) -> None:
        self._close()
        if self.metadata is None:
            raise MalformedPackage("the payload ends inside the metadata")
        files = self.metadata.files
        if self._left or any(f.size for f in files[self._index + 1:]):
            raise MalformedPackage("the payload is shorter than its file list says")
        for i in range(max(self._index + 1, 0), len(files)):
            self._create(i).close()     # trailing empty files

    def place_all(self) -> list[Path]:
        names = [e.name for e in self.metadata.files]
        with names_from_package(self._out):
            for name in names:      # again: something may have appeared while we decrypted
                check_target_at(name, self._out_fd, self._overwrite, self._out / name)
            place_all_at([self._part(i) for i in range(len(names))], names, self._tmp_fd, self._out_fd,
                         self._overwrite, self._out)
        return [self._out / n for n in names]


def _recipients(header: Header) -> tuple[RecipientInfo, ...]:
    return tuple(RecipientInfo(s.role, s.key_id) for s in header.recipients)


def inspect(src: Src) -> PackageInfo:
    """Read the clear header only: no key needed, nothing decrypted, nothing verified.

    Raises ``MalformedPackage`` if the header is not well-formed.  What it
    shows is unauthenticated until ``open_package`` verifies the signature.
    """
    with open_source(src) as (f, armored, size):
        prelude, header = read_prelude(f)
    payload = None if size is None else size - len(prelude) - SIGNATURE_SIZE
    return PackageInfo(version=prelude[7], package_id=header.package_id,
                       sealed_at=header.sealed_datetime, urgency=header.urgency,
                       sender_key=header.sender_key, recipients=_recipients(header),
                       header_size=len(prelude), payload_size=payload, armored=armored)


def package_digest_of(src: Src) -> bytes:
    """The package digest (FORMAT.md §8) of the package in ``src``, read in pieces: nothing
    decrypted, nothing verified (what it names is only known once ``verify_package`` passes)."""
    prelude, _header, payload_digest, signature = _read_all(src)
    return p.package_digest(prelude, payload_digest, signature)


def _read_all(src: Src) -> tuple[bytes, Header, bytes, bytes]:
    """Read a whole package without decrypting: (prelude, header, payload digest, signature)."""
    with open_source(src) as (f, _armored, _size):
        prelude, header = read_prelude(f)
        digest = sm3.SM3()
        tail = b""
        while True:
            piece = f.read(1 << 20)
            if not piece:
                break
            buf = tail + piece
            digest.update(buf[:-SIGNATURE_SIZE])
            tail = buf[-SIGNATURE_SIZE:]
        if len(tail) < SIGNATURE_SIZE:
            raise MalformedPackage("the package is truncated (signature missing)")
    return prelude, header, digest.digest(), tail


def scan(src: Src) -> tuple[Header, bytes]:
    """Read a whole package without decrypting it; return (header, package digest).

    Used to check a receipt against the sealed package the sender kept.
    """
    prelude, header, payload_digest, signature = _read_all(src)
    return header, p.package_digest(prelude, payload_digest, signature)


def verify_package(src: Src, *, trusted: Trusted, accept_before_revocation: bool = False) -> VerifyResult:
    """Check, without any decryption key, that a trusted sender sealed exactly these bytes.

    For a mail room, an archive or a sender's own copy: the signature covers
    the header and every ciphertext byte.  It does not decrypt, so it says
    nothing about the plaintext; ``open_package`` checks that too.  The
    sender must still be valid today, as in ``open_package``
    (``SenderNoLongerValid`` unless ``accept_before_revocation=True``).
    Raises ``MalformedPackage``, what the trust store raises, or ``InvalidSignature``.
    """
    prelude, header, payload_digest, signature = _read_all(src)
    unit, no_longer = check_sender_now(as_trust_store(trusted), header.sender_key, header.sealed_datetime,
                                       accept_before_revocation=accept_before_revocation)
    verify_signature(header.sender_key, prelude, payload_digest, signature)
    _log.info("verified package %s from %s", header.package_id.hex(), header.sender_key.key_id().hex())
    return VerifyResult(package_id=header.package_id,
                        package_digest=p.package_digest(prelude, payload_digest, signature),
                        sealed_at=header.sealed_datetime, urgency=header.urgency, sender=unit,
                        sender_key=header.sender_key, recipients=_recipients(header),
                        sender_no_longer_valid=no_longer)
