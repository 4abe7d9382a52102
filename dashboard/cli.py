"""Command line for operators: serve, demo, user add, token issue, crimes import, report weekly,
retention run, registration erase, audit verify, audit checkpoint, outbox run, evidence verify,
evidence check, check.

Every failure is one line on standard error and a non-zero exit status; never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from dashboard.config import ConfigError, load_settings
from dashboard.core.vocab import ROLES

EXIT_ERROR = 2


class CommandError(Exception):
    """A command cannot do what was asked; the message is one line for the operator."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description="Community Camera Registry")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the dashboard (with --demo or DEMO=1: the demo registry)")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="demo mode (as DEMO=1): build the demo registry and demo accounts, whose passwords are "
        "published, into an empty database; refused when any real account or registration exists",
    )
    serve.add_argument("--no-demo", action="store_true", help="not in demo mode, whatever DEMO says")

    demo = sub.add_parser("demo", help="build demo data into the configured database (refused if it has real accounts)")
    demo.add_argument("--seed", type=int, default=None, help="random seed (same seed, same data)")
    demo.add_argument(
        "--registrations", type=int, default=None, help="number of registrations (about 1.6 cameras each)"
    )
    demo.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="the day the story ends (default: today)",
    )
    demo.add_argument(
        "--replace",
        action="store_true",
        help="delete ALL existing data first, users and audit log included (demo databases only)",
    )

    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = user_sub.add_parser("add", help="create a user; the password is read from standard input or a prompt")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)

    token = sub.add_parser("token", help="manage API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    issue = token_sub.add_parser(
        "issue",
        help="print a new API bearer token for yourself (shown once); your password "
        "is read from standard input or a prompt",
    )
    issue.add_argument("username", help="your own username: a token is issued only to its owner, on their password")

    crimes = sub.add_parser("crimes", help="police.uk street-level crime data for gap analysis")
    crimes_sub = crimes.add_subparsers(dest="crimes_command", required=True, metavar="ACTION")
    crimes_import = crimes_sub.add_parser(
        "import", help="import police.uk street-level CSV files (all or nothing: a bad file stops the import)"
    )
    crimes_import.add_argument("files", nargs="+", type=Path, metavar="FILE")

    report = sub.add_parser("report", help="reports for people to read and forward")
    report_sub = report.add_subparsers(dest="report_command", required=True, metavar="KIND")
    weekly = report_sub.add_parser(
        "weekly", help="the project lead's weekly report: an HTML page and its tables as CSV"
    )
    weekly.add_argument(
        "--week", type=_iso_date, default=None, help="any day of the week wanted (default: the last whole UK week)"
    )
    weekly.add_argument("--out", type=Path, default=Path("reports"), help="folder to write to (default: reports)")

    retention = sub.add_parser(
        "retention",
        help="the retention check: keep only registrations their owners confirm, "
        "and footage only as long as its rules allow",
    )
    retention_sub = retention.add_subparsers(dest="retention_command", required=True, metavar="ACTION")
    run = retention_sub.add_parser(
        "run",
        help="flag registrations unconfirmed for RETENTION_MONTHS (reminding their owners), erase those "
        "still unconfirmed RETENTION_GRACE_DAYS after, clear the flags of reconfirmed ones; delete "
        "declined footage EVIDENCE_DECLINED_DAYS after the decision and footage of closed cases "
        "EVIDENCE_CLOSED_CASE_DAYS after closing",
    )
    run.add_argument("--dry-run", action="store_true", help="report what would be done; change nothing, send nothing")
    run.add_argument(
        "--as-of",
        type=_iso_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="act as at the end of this UK day (default: now); a later day than today needs --dry-run",
    )

    reg = sub.add_parser("registration", help="registrations")
    reg_sub = reg.add_subparsers(dest="registration_command", required=True, metavar="ACTION")
    erase = reg_sub.add_parser(
        "erase",
        help="erase a registration's personal data at its owner's request (logged "
        "with the reason, without the erased data)",
    )
    erase.add_argument("reference", help="the registration's reference, as the owner quotes it (e.g. CCR-7KQ2MX)")
    erase.add_argument(
        "--reason",
        required=True,
        help="the owner's request, e.g. its ticket number (kept in the audit log; not the owner's details)",
    )

    audit_cmd = sub.add_parser("audit", help="the audit log's integrity (for cron: exits non-zero on any break)")
    audit_sub = audit_cmd.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    audit_sub.add_parser(
        "verify",
        help="check every row's keyed hash and link, and the log against every signed "
        "checkpoint in AUDIT_CHECKPOINT_FILE; then append a new checkpoint if intact",
    )
    audit_sub.add_parser(
        "checkpoint", help="append a signed checkpoint of the log as it is now to AUDIT_CHECKPOINT_FILE"
    )

    summ = sub.add_parser(
        "summaries", help="the register's summary counts (coverage cells, areas, days) that every server reads"
    )
    summ_sub = summ.add_subparsers(dest="summaries_command", required=True, metavar="ACTION")
    summ_sub.add_parser(
        "check", help="recount the register and compare with the stored summaries (for cron: exits 1 on any difference)"
    )
    summ_sub.add_parser(
        "rebuild", help="recount the register into the summaries (after any change made by hand in SQL)"
    )

    outbox = sub.add_parser("outbox", help="send the messages to owners waiting in the outbox (footage requests)")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    outbox_run = outbox_sub.add_parser(
        "run",
        help="send queued messages by email (SMTP_URL) and text (NOTIFY_API_KEY) until interrupted; "
        "SIGTERM or Ctrl+C lets the message being sent finish first",
    )
    outbox_run.add_argument("--once", action="store_true", help="send what is due now, then stop")
    outbox_run.add_argument(
        "--lease-seconds",
        type=float,
        default=None,
        metavar="S",
        help="how long a claimed message is held before another sender may take it over (default 120)",
    )
    outbox_run.add_argument(
        "--poll-seconds", type=float, default=None, metavar="S", help="how often to look for new messages (default 3)"
    )

    evidence = sub.add_parser("evidence", help="footage evidence: check a hand-off bundle, or every stored file")
    evidence_sub = evidence.add_subparsers(dest="evidence_command", required=True, metavar="ACTION")
    ev_verify = evidence_sub.add_parser(
        "verify",
        help="re-hash every file of a hand-off bundle (ZIP) against its manifest; needs no database; "
        "exits non-zero on any difference",
    )
    ev_verify.add_argument("bundle", type=Path, metavar="BUNDLE.zip")
    evidence_sub.add_parser(
        "check",
        help="re-hash every stored evidence file against its recorded SHA-256, record "
        "the result (logged); for cron: exits non-zero on a changed or missing file",
    )

    sub.add_parser("check", help="validate configuration, reference data and database")
    return parser


def _read_password() -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise CommandError("no password on standard input; pipe one line, e.g. printf '%s\\n' \"$PW\" | ...")
        return line.rstrip("\r\n")
    first = getpass.getpass("Password (at least 12 characters): ")
    if getpass.getpass("Repeat password: ") != first:
        raise CommandError("the two passwords differ; nothing was changed.")
    return first


def _demo_crime_files(rt) -> list:
    """The police.uk months the demo imports, each checked whole (a bad one stops here, before anything is built)."""
    from dashboard.demo.crimes import DemoCrimesError, parse_samples, sample_files

    try:
        return parse_samples(sample_files(rt.settings.reference_data_dir))
    except DemoCrimesError as exc:
        raise CommandError(f"{exc}; fix or remove it.") from None


def _import_demo_crimes(rt, parsed: list) -> None:
    """The demo's crime months as admin.demo's import, logged like one on the Crime data page; files
    imported before (by SHA-256) are left alone, so starting the demo again imports nothing twice."""
    from dashboard.demo.crimes import DemoCrimesError, import_samples

    if not parsed:
        return
    try:
        done = import_samples(rt.sessions, parsed, rt.reference)
    except DemoCrimesError as exc:
        raise CommandError(f"{exc}.") from None
    if done.imported:
        months = sorted(m for _, d in done.imported for m in d.months)
        print(
            f"  imported {len(done.imported)} police.uk crime file{'s' if len(done.imported) != 1 else ''} as "
            f"admin.demo: {done.rows:,} crimes, {months[0]:%b %Y} to {months[-1]:%b %Y} (logged; see Crime data)",
            flush=True,
        )


def _build_demo(rt, *, seed: int, registrations: int, as_of: dt.date, replace: bool) -> None:
    from dashboard.demo import generate_demo
    from dashboard.registry import audit

    crimes = _demo_crime_files(rt)
    print(f"Building demo registry: {registrations:,} registrations, seed {seed}, up to {as_of} ...", flush=True)
    summary = generate_demo(
        rt.engine,
        rt.reference,
        seed=seed,
        registrations=registrations,
        as_of=as_of,
        pilot_start=rt.settings.pilot_start,
        public_launch=rt.settings.public_launch,
        replace=replace,
        evidence_dir=rt.settings.evidence_dir,
        exhibit_ref_format=rt.settings.exhibit_ref_format,
        response_link_days=rt.settings.response_link_days,
    )
    checkpoints = rt.settings.audit_checkpoint_file
    if replace and checkpoints is not None and checkpoints.exists():
        # The old log is gone on purpose; its checkpoints are kept aside, not left to contradict the new one.
        aside = checkpoints.with_name(f"{checkpoints.name}.replaced-{dt.datetime.now():%Y%m%d-%H%M%S}")
        checkpoints.rename(aside)
        print(f"  the old audit log's checkpoints were moved to {aside}")
    _import_demo_crimes(rt, crimes)
    audit.checkpoint_quietly(rt.engine)
    print(
        f"  {summary.registrations:,} registrations ({summary.withdrawn:,} withdrawn), {summary.cameras:,} cameras, "
        f"{summary.footage_requests:,} footage requests in {summary.case_files:,} case files, "
        f"{summary.owner_answers} owners' answers with {summary.evidence_files} footage files (in "
        f"{rt.settings.evidence_dir}), {summary.audit_events:,} audit log rows, in {summary.seconds:.1f} s"
    )


def demo_logins(rt) -> list[tuple[str, str, str]]:
    """The demo users whose demo password still works (so none is printed after it was changed)."""
    from dashboard.demo import DEMO_USERS
    from dashboard.registry.models import User
    from dashboard.security.accounts import verify_password

    out = []
    with rt.sessions() as s:
        for username, role, password in DEMO_USERS:
            user = s.scalar(sa.select(User).where(User.username == username))
            if user is not None and user.active and verify_password(user.password_hash, password):
                out.append((username, role, password))
    return out


def _print_logins(rt) -> None:
    logins = demo_logins(rt)
    if not logins:
        return
    print("\nDemo logins (demo data only; create real users with 'python -m dashboard user add'):")
    for username, role, password in logins:
        print(f"  {role:<8} {username:<16} {password}")


def _refuse_demo_beside_real_accounts(rt, what: str) -> None:
    from dashboard.demo import real_accounts

    real = real_accounts(rt.engine)
    if real:
        named = ", ".join(real[:3]) + (f" and {len(real) - 3:,} more" if len(real) > 3 else "")
        raise CommandError(
            f"{what} refused: this database has real accounts ({named}); demo data and demo accounts "
            "(whose passwords are published) are never added beside them. Start without --demo "
            "and DEMO, or point DATABASE_URL at a new database for a demo."
        )


def _demo_mode(rt) -> None:
    """Demo mode: build the demo into an empty database, serve an existing demo as it is, and
    refuse anything else (a real account, or registrations without the demo's accounts)."""
    from dashboard.demo import demo_accounts_present, registry_is_empty
    from dashboard.registry.models import Registrant

    _refuse_demo_beside_real_accounts(rt, "demo mode")
    if registry_is_empty(rt.engine):
        _build_demo(
            rt,
            seed=rt.settings.demo_seed,
            registrations=rt.settings.demo_registrations,
            as_of=dt.date.today(),
            replace=False,
        )
    elif not demo_accounts_present(rt.engine):
        with rt.engine.connect() as conn:
            held = conn.execute(sa.select(sa.func.count()).select_from(Registrant.__table__)).scalar_one()
        raise CommandError(
            f"demo mode refused: this database holds {held:,} registrations and no demo accounts, "
            "so it is not a demo registry. Start without --demo and DEMO, or point DATABASE_URL at "
            "a new database for a demo."
        )
    else:
        # A demo built before it imported crimes, or stopped between the two: the months not there yet.
        _import_demo_crimes(rt, _demo_crime_files(rt))


def _first_run_hint(rt) -> None:
    from dashboard.registry.models import User

    with rt.engine.connect() as conn:
        if conn.execute(sa.select(sa.literal(1)).select_from(User.__table__).limit(1)).first() is None:
            print(
                "\nThere are no accounts yet: create the first administrator with "
                "'python -m dashboard user add NAME --role admin'. (For a demo with sample data, start "
                "with --demo on a new database.)"
            )


def _disable_demo_accounts_beside_real_ones(rt) -> None:
    """A demo database later given real accounts kept the demo accounts, whose passwords are
    published in the README: serving it would let anyone in. Outside demo mode, once any real
    account exists, the demo accounts whose published password still works are disabled (logged)."""
    from dashboard.demo import DEMO_USERS, real_accounts
    from dashboard.registry.database import transaction
    from dashboard.security.accounts import disable_published_demo_accounts

    if not real_accounts(rt.engine):
        return
    with transaction(rt.sessions) as s:
        disabled = disable_published_demo_accounts(
            s, DEMO_USERS, "demo accounts with published passwords beside real accounts"
        )
    if disabled:
        print(
            f"Disabled the demo accounts {', '.join(disabled)}: their passwords are published, and this database "
            "has real accounts. An administrator can enable them again on the Accounts page after changing "
            "their passwords."
        )


def cmd_serve(args) -> int:
    from dashboard.application import create_app
    from dashboard.runtime import prepare

    rt = prepare()
    if (getattr(args, "demo", False) or rt.settings.demo) and not getattr(args, "no_demo", False):
        _demo_mode(rt)
    else:
        _first_run_hint(rt)
        _disable_demo_accounts_beside_real_ones(rt)
    _print_logins(rt)
    url = f"http://{rt.settings.host}:{rt.settings.port}"
    print(f"\nCommunity Camera Registry for {rt.reference.force_name} on {url}  (Ctrl+C stops)", flush=True)
    if rt.settings.debug:
        # Reloads on code changes; no Werkzeug debugger or console and no tracebacks in the page
        # (errors still go to this terminal), so even a debug server shows no stack trace.
        create_app(rt).run(
            host=rt.settings.host, port=rt.settings.port, debug=True, dev_tools_ui=False, use_debugger=False
        )
        return 0
    from dashboard.server import serve

    # Each worker process opens its own connections after the fork; the parent keeps none.
    rt.engine.dispose()
    serve(rt.settings)
    return 0


def cmd_crimes_import(args) -> int:
    from dashboard.registry import audit, summaries
    from dashboard.registry.crime_import import CrimeFileError, import_crimes, parse_police_uk_csv
    from dashboard.registry.database import transaction
    from dashboard.runtime import load_reference_or_fail, open_database, session_factory

    parsed = []
    for path in args.files:
        if not path.is_file():
            raise CommandError(f"{path} is not a file; nothing was imported.")
        try:
            parsed.append(parse_police_uk_csv(path.read_bytes(), path.name))
        except CrimeFileError as exc:
            raise CommandError(f"{exc} Nothing was imported.") from None
    settings = load_settings()
    ref = load_reference_or_fail(settings)
    engine = open_database(settings)
    try:
        with transaction(session_factory(engine)) as s:
            actor = audit.Actor(None, "command line", None)
            done = [import_crimes(s, p, actor, ref, count=False) for p in parsed]
            summaries.rebuild_gap(s, ref)  # the gap analysis's counts of the register near them, once
    except CrimeFileError as exc:
        raise CommandError(f"{exc} Nothing was imported.") from None
    for p, d in zip(parsed, done):
        months = ", ".join(f"{m:%Y-%m}" for m in d.months)
        print(
            f"{p.filename}: {d.rows:,} crimes ({months}); {d.without_coordinates:,} without coordinates "
            "(kept, counted in totals, not placed on a map)"
        )
    return 0


def _iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-16") from None


def cmd_report_weekly(args) -> int:
    import pandas as pd

    from dashboard.analytics.disclosure import Disclosure
    from dashboard.registry import uptake_queries as q
    from dashboard.registry.models import utcnow
    from dashboard.registry.registration import confirmation_cutoff
    from dashboard.reports import weekly
    from dashboard.runtime import load_reference_or_fail, open_database, session_factory

    settings = load_settings()
    ref = load_reference_or_fail(settings)
    engine = open_database(settings)
    now = utcnow()
    with session_factory(engine)() as s:
        frames = q.uptake_frames(s, confirmation_cutoff(now, settings.retention_months))
    report = weekly.build(
        frames,
        pd.DataFrame(ref.districts[["code", "name", "households"]]),
        args.week or weekly.last_full_week(now),
        layer=Disclosure.from_settings(settings),
        pilot_start=settings.pilot_start,
        public_launch=settings.public_launch,
        force=ref.force_name,
        now=now,
        reconfirm_months=settings.retention_months,
        attribution=ref.attribution,
    )
    try:
        written = weekly.write(report, args.out)
    except OSError as exc:
        raise CommandError(f"cannot write the report to {args.out}: {exc.strerror or exc}") from None
    print(f"weekly report for the week of {report.week:%d %B %Y}: {written[0]} and {len(written) - 1} CSV tables")
    return 0


def cmd_demo(args) -> int:
    from dashboard.runtime import prepare

    rt = prepare()
    _refuse_demo_beside_real_accounts(rt, "demo data")
    seed = rt.settings.demo_seed if args.seed is None else args.seed
    n = rt.settings.demo_registrations if args.registrations is None else args.registrations
    if not 10 <= n <= 1_000_000:
        raise CommandError(f"--registrations {n} is out of range; use 10 to 1,000,000 (about 1.6 cameras each).")
    _build_demo(rt, seed=seed, registrations=n, as_of=args.as_of or dt.date.today(), replace=args.replace)
    _print_logins(rt)
    return 0


def cmd_user_add(args) -> int:
    from dashboard.registry import audit
    from dashboard.registry.database import transaction
    from dashboard.runtime import load_reference_or_fail, open_database, session_factory
    from dashboard.security.accounts import create_user

    settings = load_settings()
    engine = open_database(settings)
    force_name = load_reference_or_fail(settings).force_name  # a password must not lean on it
    password = _read_password()
    with transaction(session_factory(engine)) as s:
        user = create_user(s, args.username, password, args.role, context=(force_name,))
        audit.record(
            s,
            audit.SYSTEM,
            "user_created",
            subject_ids=[user.id],
            detail={"username": user.username, "role": user.role, "via": "command line"},
        )
    print(f"created user {user.username} with role {user.role}")
    return 0


def cmd_token_issue(args) -> int:
    """A token for the user named, on that user's own password: tokens are issued only to their
    owner (an operator cannot mint one that acts as someone else)."""
    import sqlalchemy as sa

    from dashboard.registry import audit
    from dashboard.registry.database import transaction
    from dashboard.registry.models import User
    from dashboard.runtime import open_database, session_factory
    from dashboard.security.accounts import AccountError, issue_own_token

    engine = open_database(load_settings())
    name = args.username.strip().lower()
    with session_factory(engine)() as s:
        user = s.scalar(sa.select(User).where(User.username == name))
    if user is None:
        raise CommandError(f"no user named {args.username!r}.")
    password = _read_owner_password(name)
    try:
        with transaction(session_factory(engine)) as s:
            token = issue_own_token(s, audit.Actor(user.id, user.username, user.role), password, via="command line")
    except AccountError as exc:
        raise CommandError(str(exc)) from None
    print(token)
    print("Store this token now: it is not kept and cannot be shown again.", file=sys.stderr)
    return 0


def _read_owner_password(username: str) -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise CommandError(
                f"no password on standard input; {username}'s own password is needed to issue "
                "their token (pipe one line, or run it at a terminal)."
            )
        return line.rstrip("\r\n")
    return getpass.getpass(f"{username}'s password: ")


def _end_of_uk_day(day: dt.date) -> dt.datetime:
    from dashboard.security.audit_review import uk_midnight

    return uk_midnight(day + dt.timedelta(days=1)) - dt.timedelta(microseconds=1)


def _console_actor(role: str | None = None):
    from dashboard.registry import audit

    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown user"
    return audit.Actor(None, f"command line ({who})"[:64], role)


def cmd_retention_run(args) -> int:
    from dashboard.core.uktime import uk_day
    from dashboard.registry.models import utcnow
    from dashboard.registry.retention import reminder_mailer, run_retention
    from dashboard.runtime import load_reference_or_fail, open_database, session_factory

    settings = load_settings()
    now = utcnow()
    if args.as_of is not None:
        today = uk_day(now)
        if args.as_of > today and not args.dry_run:
            raise CommandError(
                f"--as-of {args.as_of} is after today ({today}): acting as of a later day would erase "
                "registrations before their grace period is over. Add --dry-run to preview it."
            )
        # A preview may look ahead; a real run never acts later than now.
        now = _end_of_uk_day(args.as_of) if args.dry_run else min(now, _end_of_uk_day(args.as_of))
    mailer = None
    if settings.smtp_url is not None:
        mailer = reminder_mailer(settings, load_reference_or_fail(settings).force_name)
    engine = open_database(settings)
    with session_factory(engine)() as s:
        run = run_retention(
            s, now, settings.retention_months, settings.retention_grace_days, mailer, dry_run=args.dry_run
        )
    for line in retention_report(run):
        print(line)
    if not args.dry_run:  # uploads that can never finish: their part files go
        from dashboard.footage.uploads import Uploads, sweep_abandoned

        swept = sweep_abandoned(Uploads.from_settings(session_factory(engine), settings), now)
        print(f"  unfinished uploads deleted (answer sent or link expired): {swept:,}")
    from dashboard.evidence.retention import Periods, run_footage_retention
    from dashboard.footage.storage import Store

    try:
        footage = run_footage_retention(
            session_factory(engine),
            Store(settings.evidence_dir, settings.evidence_min_free_bytes),
            now,
            Periods.from_settings(settings),
            dry_run=args.dry_run,
        )
    except OSError as exc:
        raise CommandError(
            f"footage retention could not use the evidence folder {settings.evidence_dir} "
            f"({exc.strerror or exc}); check EVIDENCE_DIR and its permissions. What was done before "
            "this is kept; the next run carries on."
        ) from None
    for line in footage_report(footage):
        print(line)
    if footage.compacted is False:
        print(
            "warning: the database was busy, so it was not compacted after footage was deleted: old copies of the "
            "deleted names and captions may stay in its free space until the next run",
            file=sys.stderr,
        )
    if run.reminders_unsent and run.mail_configured and not run.dry_run:
        print(
            f"warning: the mail relay failed; {run.reminders_unsent:,} owners were not reminded (their registrations "
            "are flagged all the same)",
            file=sys.stderr,
        )
    return 0


def retention_report(run) -> list[str]:
    """The lines ``retention run`` prints: what was flagged, reminded, erased and cleared."""
    from dashboard.core.uktime import UK

    would = "would be " if run.dry_run else ""
    lines = [
        f"{'Dry run: nothing was changed. ' if run.dry_run else ''}Retention check as of "
        f"{run.as_of:%Y-%m-%d %H:%M} UTC: registrations unconfirmed for {run.period_months} months are flagged, "
        f"and erased {run.grace_days} days later unless confirmed."
    ]
    if run.nothing_to_do:
        lines.append("Nothing to do: no registration to flag, erase or unflag.")
    erase_from = run.erase_from.astimezone(UK)
    lines.append(
        f"  flagged as unconfirmed: {run.flagged:,}"
        + (f" {would}(erasure on or after {erase_from:%Y-%m-%d})" if run.flagged else "")
    )
    if run.flagged:
        if not run.mail_configured:
            reminders = (
                f"{'would not be' if run.dry_run else 'not'} sent: mail is not configured (SMTP_URL); "
                f"{run.reminders_unsent:,} owners not reminded"
            )
        else:
            reminders = f"{run.reminders_sent:,} {'would be ' if run.dry_run else ''}sent" + (
                f", {run.reminders_unsent:,} not sent (the mail relay failed)" if run.reminders_unsent else ""
            )
        lines.append(
            f"  reminders with a new private link: {reminders}"
            + (f"; {run.without_email:,} owners have no email address" if run.without_email else "")
        )
    lines.append(
        f"  erased after the grace period: {run.erased:,} {would}({run.cameras_switched_off:,} cameras "
        f"{would}switched off)"
    )
    lines.append(f"  flags cleared (confirmed since flagged): {run.flags_cleared:,}")
    lines.append(f"{'Counted' if run.dry_run else 'Done'} in {run.seconds:.1f} s.")
    return lines


def footage_report(run) -> list[str]:
    """The lines ``retention run`` prints about footage: what was (or would be) deleted and freed."""
    from dashboard.evidence.retention import CLOSED_CASE, DECLINED, Tally, days, size_text

    p = run.periods
    would = "would be " if run.dry_run else ""

    def files(t: Tally) -> str:
        return f"{t.files:,} file{'s' if t.files != 1 else ''} ({size_text(t.bytes)})"

    lines = [
        f"Footage: declined files are deleted {days(p.declined_days)} after the decision, files of closed cases "
        f"{days(p.closed_case_days)} after closing; accepted exhibits are kept while their case is open."
    ]
    lines.append(f"  declined files {would}deleted: {files(run.deleted.get(DECLINED, Tally()))}")
    lines.append(f"  files of closed cases {would}deleted: {files(run.deleted.get(CLOSED_CASE, Tally()))}")
    shared = (
        f"; the content of {run.kept_shared:,} deleted file{'s' if run.kept_shared != 1 else ''} stays: a file "
        "still kept has the same bytes"
        if run.kept_shared
        else ""
    )
    lines.append(
        f"  disk space {'that would be ' if run.dry_run else ''}freed: {size_text(run.freed.bytes)} "
        f"({run.freed.files:,} stored content{'s' if run.freed.files != 1 else ''}){shared}"
    )
    lines.append(f"  owners' statements {would}erased: {run.statements_erased:,}")
    if run.finished.files:
        lines.append(f"  deletions an interrupted run had left, finished: {files(run.finished)}")
    if run.dry_run and run.plan is not None and run.plan.coming:
        soon = Tally(sum(c.files for c in run.plan.coming), sum(c.bytes for c in run.plan.coming))
        lines.append(
            f"  due in the {run.plan.horizon_days} days after: {files(soon)}, the first on "
            f"{run.plan.coming[0].day:%Y-%m-%d}"
        )
    return lines


def cmd_registration_erase(args) -> int:
    from dashboard.registry.database import transaction
    from dashboard.registry.retention import ErasureError, erase_on_request
    from dashboard.runtime import open_database, session_factory

    engine = open_database(load_settings())
    try:
        with transaction(session_factory(engine)) as s:
            done = erase_on_request(s, _console_actor("admin"), args.reference, args.reason)
    except ErasureError as exc:
        raise CommandError(str(exc)) from None
    print(
        f"erased registration {done.reference}: the owner's personal data is deleted and "
        f"{done.cameras_switched_off} camera(s) switched off; logged with your reason"
    )
    return 0


def cmd_audit(args) -> int:
    """``audit verify``: 0 when the chain and every checkpoint agree, 1 with one line per break found;
    ``audit checkpoint``: append a signed checkpoint."""
    from dashboard.registry import audit
    from dashboard.registry.database import describe_url

    settings = load_settings()
    engine = open_database_for_audit(settings)
    anchor = audit.anchor_for(engine)
    if args.audit_command == "checkpoint":
        try:
            cp = audit.write_checkpoint(engine, anchor)
        except audit.CheckpointError as exc:
            raise CommandError(str(exc)) from None
        if cp is None:
            print("the audit log is empty and already has checkpoints; no checkpoint written")
        elif cp.last_id == 0:
            print(f"checkpoint written to {anchor.checkpoint_file}: the audit log is empty (a new log)")
        else:
            print(f"checkpoint written to {anchor.checkpoint_file}: row {cp.last_id}, {cp.count:,} rows")
        return 0
    with engine.connect() as conn:
        from sqlalchemy.orm import Session

        with Session(bind=conn) as s:
            result = audit.verify_log(s, anchor)
    where = describe_url(settings.database_url)
    if not result.intact:
        print(
            f"AUDIT LOG BROKEN in {where} ({result.chain.rows_checked:,} rows read, "
            f"{result.checkpoints_checked:,} signed checkpoints in {anchor.checkpoint_file}):",
            file=sys.stderr,
        )
        for line in result.describe():
            print(f"  - {line}", file=sys.stderr)
        return 1
    c = result.chain
    unkeyed = f"; rows 1 to {c.unkeyed_through} were chained before the log was keyed" if c.unkeyed_through else ""
    print(
        f"ok  audit log in {where}: {c.rows_checked:,} rows intact (newest row {c.last_id or '-'}), "
        f"agreeing with {result.checkpoints_checked:,} signed checkpoint"
        f"{'' if result.checkpoints_checked == 1 else 's'}{unkeyed}"
    )
    try:
        audit.write_checkpoint(engine, anchor)
    except (audit.CheckpointError, OSError) as exc:
        print(f"warning: no new checkpoint written: {exc}", file=sys.stderr)
    return 0


def cmd_summaries(args) -> int:
    """``summaries check``: 0 when the stored summaries are the register counted now, 1 with the
    differing rows; ``summaries rebuild``: count them again (raising the register's version)."""
    from dashboard.registry import gap_summaries, summaries
    from dashboard.registry.database import describe_url, session_factory, transaction
    from dashboard.runtime import load_reference_or_fail

    settings = load_settings()
    engine = open_database_for_audit(settings)
    where = describe_url(settings.database_url)
    started = time.perf_counter()
    if args.summaries_command == "rebuild":
        ref = load_reference_or_fail(settings)
        with transaction(session_factory(engine)) as s:
            gap_summaries.place_crimes(s, ref)  # where the gap analysis counts each crime, from the reference
            rows = summaries.rebuild(s)
        print(f"ok  summaries in {where} counted again: {rows:,} rows in {time.perf_counter() - started:.1f} s")
        return 0
    with session_factory(engine)() as s:
        wrong = summaries.verify(s)
        version = summaries.version(s)
    if wrong:
        print(f"SUMMARIES DIFFER from the register in {where}: {len(wrong):,} rows, e.g.", file=sys.stderr)
        for line in wrong[:5]:
            print(f"  - {line}", file=sys.stderr)
        print("  run `python -m dashboard summaries rebuild` to count them again", file=sys.stderr)
        return 1
    print(
        f"ok  summaries in {where} agree with the register (version {version}; {time.perf_counter() - started:.1f} s)"
    )
    return 0


def open_database_for_audit(settings):
    """The database as it is: not migrated (a check changes nothing), but at the code's schema."""
    from dashboard.registry.database import current_revision, head_revision
    from dashboard.runtime import open_database

    engine = open_database(settings, migrate_schema=False)
    if current_revision(engine) != head_revision():
        raise CommandError("the database is not at the code's schema; start the app once to migrate it, then verify.")
    return engine


def _check_public_frame(settings, area_name: str) -> None:
    """What the public pages will show of the force (already validated by load_settings), and a note
    when the footer has no data protection officer's contact."""
    from dashboard.branding import Brand, contrast_with_white

    brand = Brand.of(settings, area_name)
    logo = f"logo {settings.force_logo} ({settings.force_logo_type})" if settings.force_logo else "no logo"
    print(
        f"ok  public pages: {brand.force_name}, colour {brand.colour} (white text "
        f"{contrast_with_white(brand.colour):.1f}:1), {logo}; data controller {brand.data_controller}"
    )
    if not (settings.dpo_email or settings.dpo_address):
        print(
            f"note: DPO_EMAIL and DPO_ADDRESS are not set: the public pages tell people to write to the data "
            f"protection officer at {brand.data_controller}; set them for a real deployment"
        )


def cmd_check(_args) -> int:
    from dashboard.registry.database import current_revision, describe_url, head_revision
    from dashboard.registry.schema_rules import forbidden_columns
    from dashboard.runtime import load_reference_or_fail, open_database

    started = time.perf_counter()
    settings = load_settings()
    print(f"ok  configuration (K_MIN={settings.k_min}, debug {'on' if settings.debug else 'off'})")
    ref = load_reference_or_fail(settings)
    print(
        f"ok  reference data for {ref.force_name}: {len(ref.districts)} districts, {len(ref.small_areas)} small "
        f"areas, {len(ref.postcodes):,} postcodes from {settings.reference_data_dir}"
    )
    _check_public_frame(settings, ref.force_name)
    engine = open_database(settings, migrate_schema=False)
    revision, head = current_revision(engine), head_revision()
    if revision != head:
        raise CommandError(
            f"database {describe_url(settings.database_url)} is at schema {revision or 'none'}, "
            f"the code needs {head}; start the app or run 'python -m dashboard demo' to migrate."
        )
    insp = sa.inspect(engine)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        columns = [(t, c["name"]) for t in insp.get_table_names() for c in insp.get_columns(t)]
    problems = forbidden_columns(columns)
    if problems:
        raise CommandError(f"schema breaks the registry's promises: {problems[0]}")
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM registrant")).scalar()
    print(f"ok  database {describe_url(settings.database_url)} at schema {revision}, {n:,} registrations")
    print(f"all checks passed in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_outbox_run(args) -> int:
    """Send the outbox until interrupted (or once with --once); prints what was handled."""
    import signal

    from dashboard.delivery import outbox, worker
    from dashboard.runtime import load_reference_or_fail, open_database, session_factory

    settings = load_settings()
    if not settings.smtp_url and not settings.notify_api_key:
        raise CommandError(
            "neither SMTP_URL (email) nor NOTIFY_API_KEY (text messages) is set: there is nothing to send messages with"
        )
    for name in ("lease_seconds", "poll_seconds"):
        value = getattr(args, name)
        if value is not None and not 0.05 <= value <= 3600:
            raise CommandError(f"--{name.replace('_', '-')} must be between 0.05 and 3600 seconds")
    force_name = load_reference_or_fail(settings).force_name
    engine = open_database(settings)
    sender = outbox.Sender(settings, session_factory(engine), force_name, lease_s=args.lease_seconds or outbox.LEASE_S)
    runner = worker.OutboxRunner(sender, poll_s=args.poll_seconds or worker.POLL_S)
    previous = {sig: signal.signal(sig, lambda *_: runner.stop()) for sig in (signal.SIGTERM, signal.SIGINT)}
    print(
        "Sending the outbox" + (" (what is due now)" if args.once else " until interrupted (Ctrl+C stops)"), flush=True
    )
    try:
        handled = runner.run(once=args.once)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        engine.dispose()
    print(f"Stopped: {handled:,} message(s) handled.", flush=True)
    return 0


def cmd_evidence(args) -> int:
    """``evidence verify BUNDLE.zip``: 0 when every file matches the bundle's manifest, 1 otherwise
    (one line per file); ``evidence check``: 0 when every stored file matches its hash, 1 otherwise."""
    if args.evidence_command == "verify":
        from dashboard.evidence.verify import BundleUnreadable, verify_bundle

        try:
            report = verify_bundle(args.bundle)
        except BundleUnreadable as exc:
            raise CommandError(f"cannot check {args.bundle}: {exc}") from None
        for line in report.lines:
            print(line.text())
        print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
        return 0 if report.ok else 1
    from dashboard.evidence.integrity import check_store
    from dashboard.footage.storage import Store
    from dashboard.registry.models import utcnow
    from dashboard.runtime import open_database, session_factory

    settings = load_settings()
    engine = open_database(settings)
    try:
        result = check_store(session_factory(engine), Store(settings.evidence_dir), _console_actor(), utcnow())
    finally:
        engine.dispose()
    print(
        f"evidence in {settings.evidence_dir}: {result.files:,} stored files ({result.contents:,} distinct contents, "
        f"{result.bytes_checked:,} bytes) checked in {result.seconds:.1f} s; {result.ok:,} ok, "
        f"{len(result.mismatch):,} changed, {len(result.missing):,} missing (audit row {result.audit_id})"
    )
    if result.intact:
        return 0
    for label, ids in (("CHANGED", result.mismatch), ("MISSING", result.missing)):
        for file_id in ids:
            print(f"{label}  {file_id}", file=sys.stderr)
    return 1


COMMANDS = {
    "serve": cmd_serve,
    "outbox": cmd_outbox_run,
    "demo": cmd_demo,
    "check": cmd_check,
    "crimes": cmd_crimes_import,
    "report": cmd_report_weekly,
    "retention": cmd_retention_run,
    "registration": cmd_registration_erase,
    "audit": cmd_audit,
    "summaries": cmd_summaries,
    "evidence": cmd_evidence,
}


def main(argv: list[str] | None = None) -> int:
    from dashboard.security.accounts import AccountError

    args = _parser().parse_args(argv)
    if args.command == "user":
        handler = cmd_user_add
    elif args.command == "token":
        handler = cmd_token_issue
    else:
        handler = COMMANDS[args.command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except (ConfigError, CommandError, AccountError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the operator gets one line, never a traceback
        from dashboard.demo import DemoError

        if isinstance(exc, DemoError):
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        first = (str(exc).strip().splitlines() or [""])[0]
        print(f"error: unexpected failure ({type(exc).__name__}): {first}", file=sys.stderr)
        return 1
