"""STREAM: the payload as a sequence of SM4-GCM chunks, on every core, in constant memory.

    chunk i = SM4-GCM(payload key, nonce = u88be(i) ‖ last, plaintext[i·C : (i+1)·C])

with C = 64 KiB in format v1 (a parameter here only so tests can use small
chunks).  Every chunk but the last holds exactly C plaintext bytes; the last
holds 1..C bytes, or 0 only when it is the sole chunk, and is the only one
encrypted with the last flag.  So truncation at a chunk boundary (no chunk
has the flag), reordering or duplication (counter mismatch), appending
(a chunk after the flagged one) and an empty final chunk are all detected.

Chunks are independent, so batches of them are encrypted or decrypted on a
small thread pool by ``shangmi.sm4_batch`` (libgcrypt's AES-NI/AVX2 SM4 where
present, else pyca's OpenSSL; both release the GIL); the SM3 digest of the
ciphertext, which cannot be split, runs on a thread of its own (``_Hasher``)
while the calling thread reads and writes.  At most ``_IN_FLIGHT`` batches
exist at once at each stage, which bounds memory whatever the payload size.
"""

from __future__ import annotations

import os
import signal
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO, Callable

from shangmi import sm3, sm4_batch
from shangmi.errors import InvalidTag, MalformedPackage

from .format import CHUNK_SIZE, TAG_SIZE
from .primitives import chunk_nonce

WORKERS = max(1, min(4, os.cpu_count() or 1))
_BATCH_BYTES = 1 << 20          # work handed to a thread at once: amortizes the hand-off
_IN_FLIGHT = 2 * WORKERS + 1    # batches queued or running: keeps every core busy, bounds memory

Job = list[tuple[int, bool, bytes]]   # (chunk counter, last flag, data)
Piece = sm4_batch.Piece

_TERMINATING = {getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, n)}


def _pool(prefix: str) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(WORKERS, thread_name_prefix=prefix)


def _submit_without_signals(pool: ThreadPoolExecutor, *args: Any) -> "Future[Any]":
    """``pool.submit`` with the terminating signals blocked meanwhile, so any worker thread
    it starts inherits a mask that leaves them to the caller's thread: the kernel then
    interrupts the caller (even in a read that would block forever, on a pipe or a stalled
    share) and its handler can clean up.  Delivered to a worker, a signal would only set a
    flag that the blocked caller never looks at."""
    if not hasattr(signal, "pthread_sigmask"):
        return pool.submit(*args)
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _TERMINATING)
    try:
        return pool.submit(*args)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _encrypt_pieces(key: bytes, job: Job) -> list[Piece]:
    """Encrypt a batch of chunks; the result is ciphertext ‖ tag per chunk, as pieces to write
    one after the other (joining them would copy every byte once more)."""
    return sm4_batch.seal_many(key, [(chunk_nonce(ctr, last), pt) for ctr, last, pt in job])


def _encrypt_batch(key: bytes, job: Job) -> bytes:
    return b"".join(_encrypt_pieces(key, job))


def _decrypt_pieces(key: bytes, job: Job) -> list[Piece]:
    try:
        return sm4_batch.open_many(key, [(chunk_nonce(ctr, last), ct) for ctr, last, ct in job])
    except InvalidTag as exc:
        # Wrong order, duplicated, altered, or a missing/misplaced last flag.
        ctr = job[int(exc.context["index"])][0]
        raise InvalidTag("payload chunk {ctr} failed authentication", ctr=str(ctr)) from None


class _Hasher:
    """SM3 of everything fed, in order, on a thread of its own.

    SM3 over the ciphertext is the one step that cannot be split (the format
    signs one digest of it), so it gets its own core-share beside the reading,
    the writing and the SM4 pool instead of waiting for them in the caller's
    thread.  At most ``_IN_FLIGHT`` batches wait for it, which bounds memory.
    """

    def __init__(self) -> None:
        self._digest = sm3.SM3()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="smseal-sm3")
        self._pending: deque[Future[None]] = deque()

    def __enter__(self) -> "_Hasher":
        return self

    def __exit__(self, *exc: object) -> None:
        for f in self._pending:
            f.cancel()
        self._pool.shutdown(wait=True)

    def feed(self, pieces: list[Piece]) -> None:
        """Hash ``pieces`` after everything fed before (they must not change afterwards)."""
        if len(self._pending) >= _IN_FLIGHT:
            self._pending.popleft().result()
        self._pending.append(_submit_without_signals(self._pool, self._update, pieces))

    def _update(self, pieces: list[Piece]) -> None:
        for piece in pieces:
            self._digest.update(piece)

    def digest(self) -> bytes:
        """SM3 of everything fed, once it is all hashed."""
        while self._pending:
            self._pending.popleft().result()
        return self._digest.digest()


class _Pipeline:
    """Runs batch jobs on the pool and hands results back in order, with bounded queueing."""

    def __init__(self, pool: ThreadPoolExecutor, fn: Callable[[bytes, Job], list[Piece]], key: bytes,
                 sink: Callable[[list[Piece]], None]) -> None:
        self._pool, self._fn, self._key, self._sink = pool, fn, key, sink
        self._queue: deque[Future[list[Piece]]] = deque()

    def submit(self, job: Job) -> None:
        if len(self._queue) >= _IN_FLIGHT:
            self._emit(self._queue.popleft().result())
        self._queue.append(_submit_without_signals(self._pool, self._fn, self._key, job))

    def drain(self) -> None:
        while self._queue:
            self._emit(self._queue.popleft().result())

    def _emit(self, pieces: list[Piece]) -> None:
        pieces = [piece for piece in pieces if piece]
        if pieces:
            self._sink(pieces)

    def cancel(self) -> None:
        for f in self._queue:
            f.cancel()


def _batch_chunks(chunk_size: int) -> int:
    return max(1, _BATCH_BYTES // chunk_size)


def encrypt(key: bytes, read: Callable[[int], bytes], total: int, write: Callable[[Piece], None],
            *, chunk_size: int = CHUNK_SIZE) -> bytes:
    """Encrypt exactly ``total`` plaintext bytes from ``read(n)``; return SM3 of all ciphertext.

    ``read(n)`` must return exactly ``n`` bytes (the caller knows the sizes).
    """
    n_chunks = max(1, -(-total // chunk_size))
    per_batch = _batch_chunks(chunk_size)
    with _Hasher() as hasher, _pool("smseal-seal") as pool:
        def sink(pieces: list[Piece]) -> None:
            hasher.feed(pieces)         # hashed on its thread while this one writes and reads on
            for piece in pieces:
                write(piece)

        pipe = _Pipeline(pool, _encrypt_pieces, key, sink)
        try:
            for first in range(0, n_chunks, per_batch):
                job: Job = []
                for ctr in range(first, min(first + per_batch, n_chunks)):
                    size = min(chunk_size, total - ctr * chunk_size)
                    job.append((ctr, ctr == n_chunks - 1, read(size)))
                pipe.submit(job)
            pipe.drain()
            return hasher.digest()
        finally:
            pipe.cancel()


class _ChunkReader:
    """Splits ciphertext into chunks, holding back the fixed-size trailer that follows them.

    The last chunk is recognised by position (what precedes the trailer at
    end of input), never by a length field an attacker could edit.  Reads
    are one chunk long, so on a file each chunk is the bytes object the read
    returned: no copy beyond the read itself.
    """

    def __init__(self, src: BinaryIO, ct_chunk: int, trailer_size: int) -> None:
        self._src, self._ct_chunk, self._trailer_size = src, ct_chunk, trailer_size
        self._pieces: deque[bytes] = deque()
        self._have = 0
        self._eof = False

    def _fill(self, need: int) -> None:
        while not self._eof and self._have < need:
            piece = self._src.read(self._ct_chunk)
            if not piece:
                self._eof = True
            else:
                self._pieces.append(piece)
                self._have += len(piece)

    def _take(self, n: int) -> bytes:
        if self._pieces and len(self._pieces[0]) == n:
            self._have -= n
            return self._pieces.popleft()
        joined = b"".join(self._pieces)       # short reads (pipes, armor): realign
        self._pieces.clear()
        if len(joined) > n:
            self._pieces.append(joined[n:])
        self._have = len(joined) - n
        return joined[:n]

    def next(self) -> tuple[bytes, bool]:
        """Return (chunk, is_last)."""
        need = self._ct_chunk + self._trailer_size + 1
        self._fill(need)
        if self._have >= need:
            return self._take(self._ct_chunk), False
        if self._have < self._trailer_size + TAG_SIZE:
            raise MalformedPackage("the package is truncated (payload or signature missing)")
        return self._take(self._have - self._trailer_size), True

    def trailer(self) -> bytes:
        return b"".join(self._pieces)


def decrypt(key: bytes, src: BinaryIO, write: Callable[[Piece], None], *, trailer_size: int,
            chunk_size: int = CHUNK_SIZE) -> tuple[bytes, bytes]:
    """Decrypt the chunks from ``src`` into ``write``; return (SM3 of the ciphertext, trailer).

    Raises ``InvalidTag`` for an altered, reordered, duplicated or
    mis-flagged chunk and ``MalformedPackage`` for truncation or an empty
    final chunk.  ``write`` receives plaintext that is authenticated under
    the file key only: the caller must hold it back until the sender's
    signature over the returned digest verifies.
    """
    reader = _ChunkReader(src, chunk_size + TAG_SIZE, trailer_size)
    per_batch = _batch_chunks(chunk_size)

    def sink(pieces: list[Piece]) -> None:
        for piece in pieces:
            write(piece)

    with _Hasher() as hasher, _pool("smseal-open") as pool:
        pipe = _Pipeline(pool, _decrypt_pieces, key, sink)
        try:
            ctr, last = 0, False
            while not last:
                job: Job = []
                while not last and len(job) < per_batch:
                    chunk, last = reader.next()
                    if last and ctr > 0 and len(chunk) == TAG_SIZE:
                        raise MalformedPackage("the payload ends with an empty final chunk")
                    job.append((ctr, last, chunk))
                    ctr += 1
                pipe.submit(job)
                hasher.feed([ct for _, _, ct in job])    # hashed on its thread while the pool decrypts
            pipe.drain()
            return hasher.digest(), reader.trailer()
        finally:
            pipe.cancel()
