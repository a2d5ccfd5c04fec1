"""``fetch``: bring in what other units sent — packages, numbered parts of packages, receipts and
notices (催领 reminders, 拒收 reasons) — from the shared outbox folder and the IMAP mailbox.

Rules (each has a test):
- a package is listed only after it verified (``Inbox.add_package``); what fails is kept
  aside and listed as refused, never opened;
- receipts and 拒收 reasons are verified and recorded in the ledger at once;
- a mail (or a file in the shared folder) is marked processed only after everything it
  carried is stored — in the inbox, the ledger, or aside as refused;
- fetching again never duplicates (the ledger remembers each mail and file);
- mail that smseal did not send is never read, flagged, moved or deleted.
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterable

from shangmi import MalformedPackage, SmsealError, VerificationError

from .context import Office
from .i18n import _
from .imap import BATCH, MAX_MESSAGE
from .inbox import Inbox, InboxEntry, RefusedItem, ReminderSeen, error_line, one_line
from .imapread import SpooledItem, read_mail
from .mailparse import MailItem, part_digest
from .receipts import ReceiptOutcome, RejectionReason, import_receipt, import_rejection

if TYPE_CHECKING:
    from .imap import IMAPMailbox
    from .reminders import ReminderResult

PACKAGES, RECEIPTS, NOTICES = "packages", "receipts", "notices"
PROCESSED = "processed"
MAX_SMALL = 1 << 20     # receipts and notices are far smaller
#: The largest package file ``fetch`` copies from the shared folder (README "Receiving"):
#: checked with ``fstat`` before anything is copied; larger files are refused where they are.
MAX_SHARE_PACKAGE = 2 * 1024 ** 3
# Numbered parts of a package (``_Handler.part``): how much a forger can make fetch keep.
PART_CANDIDATES = 3     # distinct copies kept per slot, newest first
PART_SETS = 3           # sets (digest, total) kept per package id; a further one is refused
PART_PACKAGES = 64      # incomplete packages kept in all
PART_ATTEMPTS = 8       # combinations of a full set tried, newest copies first
PART_EXPIRY_DAYS = 30   # an incomplete set untouched this long is removed


@dataclass
class FetchReport:
    """What one ``fetch`` brought in."""

    new: list[InboxEntry] = field(default_factory=list)
    duplicates: int = 0
    refused: list[RefusedItem] = field(default_factory=list)
    receipts: list[ReceiptOutcome] = field(default_factory=list)
    rejections: list[RejectionReason] = field(default_factory=list)
    reminders: list[tuple[str, ReminderSeen]] = field(default_factory=list)
    parts_waiting: dict[str, tuple[int, int]] = field(default_factory=dict)   # pid -> (have, total)
    parts_expired: list[str] = field(default_factory=list)    # ids of incomplete packages removed
    ignored: int = 0
    errors: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    @property
    def urgent(self) -> list[InboxEntry]:
        """New packages marked 特急 or 加急, most urgent first."""
        return [e for e in self.new if e.urgency in ("extra-urgent", "urgent")]

    def merge(self, other: "FetchReport") -> None:
        for name in ("new", "refused", "receipts", "rejections", "reminders", "errors", "sources", "parts_expired"):
            getattr(self, name).extend(getattr(other, name))
        self.parts_waiting.update(other.parts_waiting)
        self.duplicates += other.duplicates
        self.ignored += other.ignored

    def to_dict(self) -> dict[str, object]:
        return {"new": [e.to_dict() for e in self.new], "duplicates": self.duplicates,
                "refused": [r.to_dict() for r in self.refused],
                "receipts": [r.to_dict() for r in self.receipts],
                "rejections": [{"package_id": r.package_id, "unit": r.unit, "reason": r.reason,
                                "time": r.time.isoformat()} for r in self.rejections],
                "reminders": [{"package_id": pid, "sequence": r.sequence, "sender": r.sender,
                               "sent_at": r.sent_at} for pid, r in self.reminders],
                "parts_waiting": {pid: {"have": h, "total": t} for pid, (h, t) in self.parts_waiting.items()},
                "parts_expired": self.parts_expired,
                "ignored": self.ignored, "errors": self.errors, "sources": self.sources}


class _Handler:
    """Stores what one source yields; shared by the folder and the mailbox."""

    def __init__(self, office: Office, inbox: Inbox, source: str, report: FetchReport) -> None:
        self.office, self.inbox, self.source, self.report = office, inbox, source, report

    def package_file(self, spooled: Path, item: str) -> None:
        arrival = self.inbox.add_package(spooled, source=self.source, item=item)
        if arrival.outcome == "new" and arrival.entry is not None:
            self.report.new.append(arrival.entry)
        elif arrival.outcome == "duplicate":
            self.report.duplicates += 1
        elif arrival.refused is not None:
            self.report.refused.append(arrival.refused)

    def package_stream(self, f: BinaryIO, size: int, item: str) -> None:
        """A package file open from the shared folder (``size`` from its ``fstat``): refused in
        place, with nothing copied, when it is larger than ``MAX_SHARE_PACKAGE``, its clear
        header is malformed or it is not addressed to this unit; otherwise copied (never more
        than ``size`` bytes) and verified."""
        from smseal.envelope import inspect

        claimed = None
        try:
            if size > MAX_SHARE_PACKAGE:
                raise MalformedPackage(_("{size:,} bytes, more than fetch copies from the shared folder "
                                         "({limit:,})").format(size=size, limit=MAX_SHARE_PACKAGE))
            info = inspect(f)
            claimed = info.package_id.hex()
            if not any(r.key_id in self.inbox.own_key_ids() for r in info.recipients):
                raise VerificationError(_("not addressed to this unit (密件不许代领); pass it on unopened"))
            f.seek(0)
            spooled = self.inbox.spool_stream(f, limit=size)
        except SmsealError as exc:
            self.report.refused.append(self.inbox.refuse(self.source, item, "package", error_line(exc),
                                                         claimed_id=claimed))
            return
        self.package_file(spooled, item)

    def small(self, kind: str, data: bytes, item: str) -> None:
        """A receipt or a notice: verified and recorded, or recorded as refused."""
        with self.inbox.outside_batch():          # the ledger records these in its own transactions
            self._small(kind, data, item)

    def _small(self, kind: str, data: bytes, item: str) -> None:
        try:
            if kind == "receipt":
                outcome = import_receipt(self.office, data)
                if outcome.new:
                    self.report.receipts.append(outcome)
                else:
                    self.report.duplicates += 1
                return
            from smseal.envelope.notice import Notice

            notice = Notice.from_bytes(data)
            if notice.kind == "rejection":
                reason = import_rejection(self.office, data)
                if reason.new:
                    self.report.rejections.append(reason)
                else:
                    self.report.duplicates += 1
            else:
                seen = self.inbox.add_reminder(data)
                if seen is not None:
                    self.report.reminders.append((notice.package_id.hex(), seen))
                else:
                    self.report.duplicates += 1
        except SmsealError as exc:
            spooled = self.inbox.spool_bytes(data)
            self.report.refused.append(self.inbox.refuse(self.source, item, kind, error_line(exc), keep=spooled))

    def part(self, it: MailItem, item: str) -> None:
        """A numbered part given as bytes (``part_file`` does the work)."""
        assert it.package_id is not None and it.part is not None
        self.part_file(it.package_id, it.part, self.inbox.spool_bytes(it.data), item, it.part_digest)

    def part_file(self, package_id: str, numbered: tuple[int, int], spooled: Path, item: str,
                  digest: str | None = None) -> None:
        """Store one numbered part and assemble the package once a full set is here.

        The id, the numbers and the package digest come from an unauthenticated file name
        (``<id>.<digest>.smx.partN-of-M``, docs/FORMAT.md §15), so nothing a forger sends may
        push the real parts out.  A set is what shares id, digest and total
        (``parts/<id>/<digest>-<total>/``): parts announcing another digest land in another set
        and can never evict the real ones; at most ``PART_SETS`` sets are kept per id and a
        further one is refused, not let in by evicting one.  Within a set every slot keeps its
        ``PART_CANDIDATES`` newest distinct copies (``<n>.<sm3 prefix>``), and a full set is tried
        in up to ``PART_ATTEMPTS`` combinations (newest copies first) until one verifies as a
        whole *and* has the digest its set announced; nothing is deleted because one combination
        failed.  Also bounded: ``PART_PACKAGES`` incomplete package ids (the oldest go first) and
        sets untouched for ``PART_EXPIRY_DAYS`` are removed (``expire_parts``).  Parts named
        without a digest (older smseal) form sets of their own, checked by signature only."""
        n, total = numbered
        parts = self.inbox._dir("parts")
        folder = parts / package_id
        if not folder.is_dir():
            _evict_oldest(parts, PART_PACKAGES - 1)
            folder.mkdir(mode=0o700, exist_ok=True)
        tset = folder / (f"{digest}-{total}" if digest else str(total))
        if not tset.is_dir():
            if sum(1 for p in folder.iterdir() if p.is_dir()) >= PART_SETS:
                spooled.unlink(missing_ok=True)
                self.report.refused.append(self.inbox.refuse(
                    self.source, item, "part", _("more than {n} different sets of parts were announced for "
                                                 "package {pid}; the first ones are kept").format(
                        n=PART_SETS, pid=package_id), claimed_id=package_id))
                return
            tset.mkdir(mode=0o700, exist_ok=True)
        dest = tset / f"{n}.{_sm3_of(spooled)[:8].hex()}"
        if dest.exists():
            os.utime(dest)                  # the same copy again counts as the newest
            spooled.unlink(missing_ok=True)
        else:
            os.replace(spooled, dest)
        for old in _newest_first(tset, n)[PART_CANDIDATES:]:
            old.unlink(missing_ok=True)
        slots = [_newest_first(tset, i) for i in range(1, total + 1)]
        have = sum(1 for c in slots if c)
        if have < total:
            self.report.parts_waiting[package_id] = (have, total)
            return
        for combo in itertools.islice(itertools.product(*slots), PART_ATTEMPTS):
            def join(f: BinaryIO, combo: tuple[Path, ...] = combo) -> None:
                for path in combo:
                    with open(path, "rb") as src:
                        shutil.copyfileobj(src, f, 1 << 20)
            joined = self.inbox.spool_write(join)
            if self._verifies(joined, digest):
                self.report.parts_waiting.pop(package_id, None)
                self.package_file(joined, f"{package_id}.smx ({total} parts)")
                shutil.rmtree(folder, ignore_errors=True)
                return
            joined.unlink(missing_ok=True)
        self.report.parts_waiting[package_id] = (have, total)    # every slot filled, but by a forgery

    def _verifies(self, spooled: Path, digest: str | None) -> bool:
        """The joined parts are a package that verifies and, when the parts announced one, has
        that package digest (compared in constant time)."""
        import hmac

        from smseal.envelope import verify_package

        try:
            res = verify_package(spooled, trusted=self.office.directory)
        except (SmsealError, OSError):
            return False
        return digest is None or hmac.compare_digest(res.package_digest.hex(), digest)

    def found_items(self, items: list[MailItem | SpooledItem], item: str) -> None:
        """What ``imapread.read_mail`` found: spooled packages and parts by file, the rest as bytes."""
        for it in items:
            if not isinstance(it, SpooledItem):
                self.mail_items([it], item)
            elif it.kind == "part" and it.package_id is not None and it.part is not None:
                self.part_file(it.package_id, it.part, it.path, f"{item} {it.name}", part_digest(it.name))
            else:
                self.package_file(it.path, f"{item} {it.name}")

    def mail_items(self, items: list[MailItem], item: str) -> None:
        for it in items:
            label = f"{item} {it.name}"
            if it.kind == "package":
                self.package_file(self.inbox.spool_bytes(it.data), label)
            elif it.kind == "part":
                self.part(it, label)
            else:
                self.small(it.kind, it.data, label)


# -- the shared outbox folder -----------------------------------------------------------
def outbox_root(office: Office) -> Path | None:
    """The shared folder fetch reads from, or None when none is configured."""
    if office.config.get("outbox", "root") or office.config.via == "outbox":
        return office.config.outbox_root
    return None


def fetch_folder(office: Office, inbox: Inbox, root: Path) -> FetchReport:
    """Read ``<root>/<unit>/packages|receipts|notices``; move each file handled into its
    ``processed/`` subfolder (or, on a read-only share, only remember it in the ledger).

    Everyone who can write the share can plant things in it, so below the configured root
    nothing is followed: a symlinked unit folder, ``packages/``, ``receipts/``, ``notices/`` or
    ``processed/`` is reported and not used, every folder is held open by descriptor
    (``O_NOFOLLOW``), and each file is opened with ``O_NOFOLLOW | O_NONBLOCK`` and read only
    when ``fstat`` says it is the same regular file that was listed (never a link, a FIFO or
    a device)."""
    from .fsutil import safe_component

    report = FetchReport(sources=[str(root)])
    unit = safe_component(office.unit)
    mine = Path(root) / unit
    source = f"folder:{mine}"
    h = _Handler(office, inbox, source, report)
    seen = inbox.seen_items(source)
    try:
        root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)   # the root as configured
    except OSError:
        return report
    fds = [root_fd]
    try:
        mine_fd = _subfolder(root_fd, unit, mine, report)
        if mine_fd is None:
            return report
        fds.append(mine_fd)
        pending: list[tuple[str, int, str, str]] = []
        for sub in (PACKAGES, RECEIPTS, NOTICES):
            sub_fd = _subfolder(mine_fd, sub, mine / sub, report)
            if sub_fd is None:
                continue
            fds.append(sub_fd)
            for name in sorted(os.listdir(sub_fd)):
                if name.startswith("."):
                    continue
                try:
                    st = os.stat(name, dir_fd=sub_fd, follow_symlinks=False)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode):          # links, FIFOs, devices, folders: never read
                    continue
                key = f"{sub}/{name}:{st.st_size}:{st.st_mtime_ns}"
                if key not in seen:
                    pending.append((sub, sub_fd, name, key))
        for i in range(0, len(pending), BATCH):
            done: list[tuple[str, int, str]] = []
            with inbox.batch():             # one ledger commit per batch
                for sub, sub_fd, name, key in pending[i:i + BATCH]:
                    try:
                        f = _open_listed(sub_fd, name, key.split(":", 1)[1])
                        if f is None:           # swapped or changed since it was listed: next fetch
                            continue
                        with f:
                            if sub == PACKAGES:
                                h.package_stream(f, int(key.split(":")[1]), f"{sub}/{name}")
                            else:
                                data = _read_small(f)
                                h.small("receipt" if sub == RECEIPTS else "notice", data, f"{sub}/{name}")
                    except OSError as exc:
                        report.errors.append(one_line(f"{mine / sub / name}: {exc.strerror or exc}"))
                        continue
                    inbox.mark_seen(source, key, "stored")
                    done.append((sub, sub_fd, name))
            for sub, sub_fd, name in done:  # moved aside only once the ledger has committed
                _move_processed(sub_fd, name, mine / sub, report)
    finally:
        for fd in fds:
            os.close(fd)
    return report


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def _subfolder(parent_fd: int, name: str, shown: Path, report: FetchReport) -> int | None:
    """A descriptor of the real folder ``name`` in ``parent_fd``; None when it is missing or not
    a folder, and None with a line in ``report.errors`` when it is a symbolic link."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError:
        try:
            link = stat.S_ISLNK(os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode)
        except OSError:
            link = False
        message = _("{path} is a symbolic link; fetch never follows links in the shared folder, "
                    "so it was left alone (ask who made it)").format(path=one_line(str(shown)))
        if link and message not in report.errors:
            report.errors.append(message)
        return None


def _open_listed(dir_fd: int, name: str, size_mtime: str) -> BinaryIO | None:
    """``name`` in ``dir_fd`` opened for reading when it is still the regular file listed
    (``size_mtime`` is ``"<size>:<mtime_ns>"``); None when it is now a link, a FIFO, a device,
    gone or changed.  Never blocks: opened with ``O_NONBLOCK``, checked with ``fstat``."""
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOENT, errno.ENXIO, errno.EISDIR, errno.ENOTDIR):
            return None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or f"{st.st_size}:{st.st_mtime_ns}" != size_mtime:
        os.close(fd)
        return None
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _read_small(f: BinaryIO) -> bytes:
    data = f.read(MAX_SMALL + 1)
    if len(data) > MAX_SMALL:
        raise MalformedPackage("far too large for a receipt or notice")
    return data


def _move_processed(dir_fd: int, name: str, shown: Path, report: FetchReport) -> None:
    """Move ``name`` into the real folder ``processed/`` next to it, never through a link."""
    try:
        try:
            os.mkdir(PROCESSED, dir_fd=dir_fd)
        except FileExistsError:
            pass
        done_fd = _subfolder(dir_fd, PROCESSED, shown / PROCESSED, report)
        if done_fd is None:
            return                      # the ledger remembers the file instead
        try:
            stem, suffix = os.path.splitext(name)
            dest, n = name, 1
            while _exists(dest, done_fd):
                dest = f"{stem}-{n}{suffix}"
                n += 1
            os.rename(name, dest, src_dir_fd=dir_fd, dst_dir_fd=done_fd)
        finally:
            os.close(done_fd)
    except OSError:
        pass  # a read-only share: the ledger remembers the file instead


def _exists(name: str, dir_fd: int) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _sm3_of(path: Path) -> bytes:
    """SM3 of a file, read in pieces."""
    from shangmi.sm3 import SM3

    h = SM3()
    with open(path, "rb") as f:
        while piece := f.read(1 << 20):
            h.update(piece)
    return h.digest()


def _newest_first(tset: Path, n: int) -> list[Path]:
    """The stored copies of part ``n`` in the set folder ``tset``, newest first."""
    found = [p for p in tset.iterdir() if p.name.split(".", 1)[0] == str(n)]
    return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)


def _evict_oldest(folder: Path, keep: int) -> None:
    """Remove the oldest subfolders of ``folder`` until at most ``keep`` remain."""
    subs = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime_ns)
    for old in subs[:max(0, len(subs) - keep)]:
        shutil.rmtree(old, ignore_errors=True)


def expire_parts(inbox: Inbox, report: FetchReport) -> None:
    """Remove incomplete split packages whose newest part is older than ``PART_EXPIRY_DAYS``."""
    parts = inbox.folder / "parts"
    if not parts.is_dir():
        return
    limit = time.time() - PART_EXPIRY_DAYS * 86400
    for folder in sorted(parts.iterdir()):
        if not folder.is_dir():
            continue
        newest = max((p.stat().st_mtime for p in folder.rglob("*")), default=folder.stat().st_mtime)
        if newest < limit:
            shutil.rmtree(folder, ignore_errors=True)
            report.parts_expired.append(folder.name)


# -- the IMAP mailbox -------------------------------------------------------------------
def fetch_mailbox(office: Office, inbox: Inbox, mailbox: "IMAPMailbox") -> FetchReport:
    """Read new smseal mail from an open ``IMAPMailbox``; mark each processed once stored."""
    s = mailbox.settings
    source = s.source_name
    report = FetchReport(sources=[source])
    h = _Handler(office, inbox, source, report)
    seen = inbox.seen_items(source)
    uids = mailbox.candidates()
    todo = [u for u in uids if mailbox.key(u) not in seen]
    again = [u for u in uids if mailbox.key(u) in seen and _was_stored(inbox, source, mailbox.key(u))]
    if again:                            # stored earlier, but the flag did not stick: try again
        _mark(mailbox, again, report)
    for i in range(0, len(todo), BATCH):
        stored: list[int] = []
        with inbox.batch():              # one ledger commit per batch; files are fsynced one by one
            for mail in mailbox.fetch(todo[i:i + BATCH]):
                try:
                    items = read_mail(mailbox, inbox, mail)
                except SmsealError as exc:     # unreadable (e.g. nested far too deeply): refused once,
                    report.refused.append(inbox.refuse(source, f"mail {mail.key}", "mail", error_line(exc)))
                    inbox.mark_seen(source, mail.key, "refused")    # never retried, left unflagged
                    continue
                if not items:
                    report.ignored += 1
                    inbox.mark_seen(source, mail.key, "ignored")    # not ours after all: left untouched
                    continue
                h.found_items(items, f"mail {mail.key}")
                inbox.mark_seen(source, mail.key, "stored")
                stored.append(mail.uid)
        if stored:                       # flagged only now that what they carried is committed
            _mark(mailbox, stored, report)
    for uid, size in mailbox.too_large:
        key = mailbox.key(uid)
        inbox.mark_seen(source, key, "too-large")         # left where it is, reported once
        report.errors.append(_("The mail {key} in {source} is {size:,} bytes, more than smseal reads "
                               "({limit:,}); it was left where it is.").format(
            key=key, source=source, size=size, limit=MAX_MESSAGE))
    mailbox.too_large.clear()
    return report


def _was_stored(inbox: Inbox, source: str, key: str) -> bool:
    with inbox.office.ledger._connect() as db:
        row = db.execute("SELECT outcome FROM fetched WHERE source = ? AND item = ?", (source, key)).fetchone()
    return bool(row and row[0] == "stored")


def _mark(mailbox: "IMAPMailbox", uids: list[int], report: FetchReport) -> None:
    from .mailerrors import MailError

    try:
        mailbox.mark_processed(uids)
    except MailError as exc:
        report.errors.append(str(exc))


# -- everything -------------------------------------------------------------------------
def fetch(office: Office, *, folder: bool = True, imap: bool = True,
          mailbox: "IMAPMailbox | None" = None) -> FetchReport:
    """Fetch from every configured source; a source that fails is reported in ``errors``
    (one line each) while the others are still read.  ``mailbox`` reuses an open
    ``IMAPMailbox`` (``watch`` keeps one for IDLE)."""
    from .imap import IMAPMailbox
    from .mailerrors import MailError

    inbox = Inbox(office)
    report = FetchReport()
    expire_parts(inbox, report)
    root = outbox_root(office) if folder else None
    if root is not None:
        report.merge(fetch_folder(office, inbox, root))
    settings = office.config.imap() if imap else None
    if settings is not None:
        try:
            if mailbox is not None:
                report.merge(fetch_mailbox(office, inbox, mailbox))
            else:
                with IMAPMailbox(settings) as mb:
                    report.merge(fetch_mailbox(office, inbox, mb))
        except MailError as exc:
            report.errors.append(str(exc))
    return report


def notify_desktop(title: str, body: str) -> bool:
    """Show a desktop notification with ``notify-send`` where a desktop session exists."""
    import shutil as _sh
    import subprocess

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    exe = _sh.which("notify-send")
    if not exe:
        return False
    try:
        subprocess.run([exe, "--urgency=critical", "--app-name=smseal", title, body], timeout=10,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def watch(office: Office, *, interval: float = 60.0, on_report: Callable[[FetchReport], None],
          rounds: int | None = None, remind: bool = True,
          on_reminders: "Callable[[list[ReminderResult]], None] | None" = None) -> None:
    """Fetch again and again: with IMAP IDLE (where the server has it) new mail is read as
    soon as it arrives, otherwise every ``interval`` seconds.  On the sender's side the
    due 催领 reminders go out in the same loop.  ``rounds`` limits the loop (tests)."""
    from .imap import IMAPMailbox
    from .mailerrors import MailError

    settings = office.config.imap()
    mailbox: IMAPMailbox | None = None
    n = 0
    try:
        while rounds is None or n < rounds:
            n += 1
            if settings is not None and mailbox is None:
                try:
                    mailbox = IMAPMailbox(settings).connect()
                except MailError as exc:
                    on_report(FetchReport(errors=[str(exc)]))
            report = fetch(office, imap=mailbox is not None, mailbox=mailbox)
            on_report(report)
            if remind:
                from .reminders import send_due_reminders

                try:
                    sent = send_due_reminders(office)
                except SmsealError as exc:
                    on_report(FetchReport(errors=[one_line(str(exc))]))
                    sent = []
                if sent and on_reminders is not None:
                    on_reminders(sent)
            if rounds is not None and n >= rounds:
                break
            waited = False
            if mailbox is not None and mailbox.has_idle:
                try:
                    mailbox.idle(interval)
                    waited = True
                except MailError:
                    mailbox.close()
                    mailbox = None
            if not waited:
                time.sleep(interval)
    finally:
        if mailbox is not None:
            mailbox.close()


def sources(office: Office) -> Iterable[str]:
    """The configured sources, for messages ("fetched from ...")."""
    root = outbox_root(office)
    if root is not None:
        yield str(root)
    s = office.config.imap()
    if s is not None:
        yield s.source_name
