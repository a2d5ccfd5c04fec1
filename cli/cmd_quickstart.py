"""``smseal quickstart``: the whole product in one go, on an embedded default.

Two demo units get homes in a temporary folder and share an outbox folder
(as two offices would share a network folder); one sends a package with
Chinese file names, the other opens it and its signed receipt flows back,
and the sender's status view is shown.  Every step is a real smseal command,
printed before it runs, so the transcript doubles as a tutorial.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path

from smseal.office.i18n import _

SENDER, RECIPIENT = "市政府办公室", "财政局"
DEMO_PASSPHRASE = "quickstart-demo-passphrase"


def register(sub) -> None:
    p = sub.add_parser("quickstart", help=_("demonstrate send, open, receipt and status with two demo units"))
    p.add_argument("--keep", metavar="DIR", help=_("run in DIR and keep it (default: a temporary folder)"))
    p.set_defaults(func=run)


def run(args, console) -> int:
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        return _demo(Path(args.keep), console)
    with tempfile.TemporaryDirectory(prefix="smseal-quickstart-") as tmp:
        return _demo(Path(tmp), console)


def _demo(root: Path, console) -> int:
    from .main import main

    homes = {SENDER: root / "home-A", RECIPIENT: root / "home-B"}
    shared = root / "shared-folder"
    work = root / "desk"
    work.mkdir(exist_ok=True)
    (work / "关于报送2027年工作安排的通知.txt").write_text(
        "各区县财政局：\n请于2027年5月10日前报送2027年工作安排。\n", encoding="utf-8")
    (work / "附件1-工作安排表.csv").write_text("序号,事项,完成时限\n1,预算编制,2027-03-31\n", encoding="utf-8")

    saved = {k: os.environ.get(k) for k in ("SMSEAL_PASSPHRASE", "SMSEAL_HOME")}
    os.environ.setdefault("SMSEAL_PASSPHRASE", DEMO_PASSPHRASE)
    old_cwd = os.getcwd()
    os.chdir(work)

    def step(title: str, unit: str, *argv: str) -> None:
        if title:
            console.print("")
            console.print(f"## {title}")
        console.print(f"[{unit}] $ smseal {shlex.join(argv)}")
        rc = main(["--home", str(homes[unit]), *argv])
        if rc != 0:
            raise SystemExit(rc)

    try:
        console.print(_("smseal quickstart: two demo units in {root}").format(root=root))
        for unit, home in homes.items():
            home.mkdir(parents=True, exist_ok=True)
            (home / "config.ini").write_text(f"[outbox]\nroot = {shared}\n", encoding="utf-8")
        step(_("1. Each unit creates its keys"), SENDER, "init", "--unit", SENDER)
        step("", RECIPIENT, "init", "--unit", RECIPIENT)
        step(_("2. Each exports its public card and imports the other's (check fingerprints by phone)"),
             SENDER, "keys", "export", "--public", "-o", "A.card")
        step("", RECIPIENT, "keys", "export", "--public", "-o", "B.card")
        step("", SENDER, "keys", "import", "B.card", "--yes")
        step("", RECIPIENT, "keys", "import", "A.card", "--yes")
        step(_("3. The sender seals and sends the notice with its attachment (outbox folder)"), SENDER,
             "send", "关于报送2027年工作安排的通知.txt", "附件1-工作安排表.csv", "--to", RECIPIENT,
             "--title", "关于报送2027年工作安排的通知", "--doc-number", "赤政办发〔2027〕5号",
             "--urgency", "urgent", "--due", "2027-05-10", "--label", "内部")
        package = next((shared / RECIPIENT / "packages").glob("*.smx"))
        step(_("4. The recipient opens it; a signed receipt goes back by the same way"), RECIPIENT,
             "open", str(package), "-o", "收文")
        receipt = next((shared / SENDER / "receipts").glob("*.receipt"))
        step(_("5. The sender records the receipt and looks at the status"), SENDER,
             "receipts", "import", str(receipt))
        step("", SENDER, "status")
        console.print("")
        console.print(_("Done. On a real machine, start with: smseal init --unit <your unit's name>"))
        return 0
    finally:
        os.chdir(old_cwd)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
