"""``smseal draft`` (prepare a document for 签发) and ``smseal approve`` (the leader signs it).

    smseal draft 请示.pdf 附件1.xlsx --to 市政府办公室 --type 请示 --title … -o d.smd
    smseal approve d.smd [--leader 张三]          # shows what is approved, then signs
    smseal send d.smd                            # seals with the approval inside
"""

from __future__ import annotations

from smseal.office.i18n import _

from .cmd_seal import URGENCY_LABEL, add_document_args
from .context import App, confirm
from .workflow_args import office_of


def register(sub) -> None:
    p = sub.add_parser("draft", help=_("prepare a document for approval (签发) before sending"))
    add_document_args(p, main_help=_("the main document"))
    p.add_argument("-o", "--output", required=True, help=_("draft file to write (.smd)"))
    p.add_argument("--force", action="store_true", help=_("overwrite an existing file"))
    p.set_defaults(func=run_draft)
    a = sub.add_parser("approve", help=_("approve (签发) a draft with a leader's key"))
    a.add_argument("draft", help=_("the draft file (.smd)"))
    a.add_argument("--leader", metavar="NAME", help=_("the approving leader (default: the unit's only leader)"))
    a.add_argument("--yes", action="store_true", help=_("do not ask; the leader has read the summary"))
    a.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    a.set_defaults(func=run_approve)


def run_draft(args, console) -> int:
    from smseal.office.drafts import create_draft

    with App(args, console) as app:
        d = create_draft(office_of(app), args.main, args.attachments, to=args.to, cc=args.cc,
                         cc_groups=args.cc_group, out=args.output, title=args.title, doc_number=args.doc_number,
                         doc_type=args.doc_type, label=args.label, urgency=args.urgency, due=args.due,
                         reply_by=args.reply_by, reply_from=args.reply_from, remarks=args.remarks, copy_number=args.copy_number,
                         overwrite=args.force)
        console.print(_("Wrote the draft {path}: {n} file(s) to {to}{cc}.").format(
            path=args.output, n=len(d.files), to=d.to,
            cc=_(", copies to {units}").format(units="、".join(d.cc)) if d.cc else ""))
        console.print(_("Next: the leader runs smseal approve {path}").format(path=args.output))
        return 0


def show_summary(console, s: dict) -> None:
    """What the leader approves (and the approval signs), one fact a line: every recipient
    with the 份号 of its copy, the urgency, the dates and every file with its SM3."""
    urgency = URGENCY_LABEL.get(s["urgency"])
    for label, value in ((_("title"), s["title"]), (_("document number"), s["doc_number"]),
                         (_("document type (文种)"), s["doc_type"]), (_("urgency"), urgency),
                         (_("due"), s["due"]), (_("reply by"), s["reply_by"])):
        if value:
            console.print(f"  {label}: {value}")
    for r in s["recipients"]:
        label = _("main recipient (主送)") if r["role"] == "to" else _("copy recipient (抄送)")
        console.print(_("  {label}: {unit} (copy no. {n})").format(label=label, unit=r["unit"],
                                                                    n=r["copy_number"] or "-"))
    for f in s["files"]:
        console.print(_("  file: {name} ({size:,} bytes)").format(name=f["name"], size=f["size"]))
        console.print(_("        SM3 {sm3}").format(sm3=f["sm3"]))


def run_approve(args, console) -> int:
    from smseal.office.approval import approval_summary, approve_draft
    from smseal.office.drafts import load_draft

    with App(args, console) as app:
        office = office_of(app)
        d = load_draft(args.draft)
        leader = office.leaders.get(args.leader) if args.leader else office.leaders.only()
        summary = approval_summary(d)
        if not args.json:
            console.print(_("{leader} is asked to approve (签发):").format(leader=leader.name))
            show_summary(console, summary)
        if not confirm(_("Approve this document as {leader}?").format(leader=leader.name), args.yes):
            console.print(_("Not approved."))
            return 1
        d = approve_draft(office, d, leader=leader.name)
        if args.json:
            console.json({**approval_summary(d), "approved_by": d.approval.leader,
                          "approved_at": d.approval.time.isoformat()})
            return 0
        from smseal.office.clock import show
        console.print(_("Approved by {leader} at {when}; next: smseal send {path}").format(
            leader=d.approval.leader, when=show(d.approval.time, office.tz), path=args.draft))
        return 0
