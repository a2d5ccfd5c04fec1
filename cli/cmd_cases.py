"""``smseal case new/record/list``: 办件 with a template's stages and deadlines (建议提案 built in)."""

from __future__ import annotations

from smseal.office.i18n import _

from .context import App
from .workflow_args import add_now, office_of, parse_date


def register(sub) -> None:
    p = sub.add_parser("case", help=_("assigned matters (办件) with stages and deadlines"))
    cs = p.add_subparsers(dest="case_command", metavar="ACTION")
    n = cs.add_parser("new", help=_("open a case under a template (e.g. 建议提案)"))
    n.add_argument("--template", required=True, help=_("template name (建议提案 is built in; others in config.ini)"))
    n.add_argument("--unit", required=True, help=_("the unit that handles it (承办单位)"))
    n.add_argument("--title", help=_("what the case is about"))
    n.add_argument("--year", type=int, help=_("the year of the timetable (default: this year)"))
    n.add_argument("--package", metavar="ID", help=_("the package that assigned it (交办), sent from here"))
    n.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    add_now(n)
    n.set_defaults(func=run_new)
    r = cs.add_parser("record", help=_("record a stage that happened off-line (见面, 总结 …)"))
    r.add_argument("id", type=int, help=_("the case number (smseal case list)"))
    r.add_argument("--stage", required=True, help=_("the stage, e.g. 见面"))
    r.add_argument("--date", required=True, type=parse_date, metavar="YYYY-MM-DD", help=_("when it happened"))
    r.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    add_now(r)
    r.set_defaults(func=run_record)
    li = cs.add_parser("list", help=_("list the cases and their stages"))
    li.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    add_now(li)
    li.set_defaults(func=run_list)
    t = cs.add_parser("templates", help=_("list the case templates"))
    t.set_defaults(func=run_templates)
    p.set_defaults(func=lambda a, c: (p.print_help(), 2)[1])


def case_json(c) -> dict:
    return {"id": c.id, "template": c.template, "unit": c.unit, "title": c.title, "year": c.year,
            "package_id": c.package_id, "overdue": c.overdue, "replied": c.replied, "met": c.met,
            "stages": [{"name": s.name, "deadline": s.deadline.isoformat(),
                        "done_on": s.done_on.isoformat() if s.done_on else None, "overdue": s.overdue}
                       for s in c.stages]}


def print_case(console, c) -> None:
    console.print(_("  case {id} [{template}] {unit}: {title}").format(id=c.id, template=c.template, unit=c.unit,
                                                                     title=c.title or ""))
    for s in c.stages:
        if s.done_on:
            state = _("done {date}").format(date=s.done_on)
        elif s.overdue:
            state = _("OVERDUE")
        else:
            state = _("open")
        console.print(_("    {stage} by {deadline}: {state}").format(stage=s.name, deadline=s.deadline, state=state),
                      red=bool(s.overdue and not s.done_on))


def run_new(args, console) -> int:
    from smseal.office.cases import new_case

    with App(args, console) as app:
        c = new_case(office_of(app, args), args.template, unit=args.unit, title=args.title, year=args.year,
                     package_id=args.package)
        if args.json:
            console.json(case_json(c))
        else:
            print_case(console, c)
        return 0


def run_record(args, console) -> int:
    from smseal.office.cases import record_stage

    with App(args, console) as app:
        c = record_stage(office_of(app, args), args.id, args.stage, args.date)
        if args.json:
            console.json(case_json(c))
        else:
            print_case(console, c)
        return 0


def run_list(args, console) -> int:
    from smseal.office.cases import list_cases

    with App(args, console) as app:
        cs = list_cases(office_of(app, args))
        if args.json:
            console.json([case_json(c) for c in cs])
            return 0
        if not cs:
            console.print(_("No cases yet: smseal case new --template 建议提案 --unit UNIT"))
        for c in cs:
            print_case(console, c)
        return 0


def run_templates(args, console) -> int:
    from smseal.office.cases import templates

    with App(args, console) as app:
        for t in templates(office_of(app)).values():
            console.print(f"  {t.name}: " + ", ".join(f"{s} {w}" for s, w in t.stages))
        return 0
