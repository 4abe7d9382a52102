"""Timing of the auditor page on a long audit log: the chain check's rows per second, and each of
the page's callbacks end to end through the app (Flask test client, auditor logged in).

Usage::

    python -m benchmarks.bench_audit                       # 200,000 rows in a temp SQLite file
    python -m benchmarks.bench_audit --rows 500000 --db /tmp/audit.db
    python -m benchmarks.bench_audit --db postgresql+psycopg://user:pw@127.0.0.1:5432/db

The log is synthetic but shaped like a year of a force's use: 60 officers on day, late and night
shifts searching around real postcodes (with reveals, requests, status changes and exports after
some searches), logins and failed logins, and the public's registrations. Rows are chained exactly
as ``audit.record`` chains them, written in bulk. Target: every callback under about 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from dashboard.config import load_settings
from dashboard.registry import audit
from dashboard.registry.models import AuditEvent

PASSWORD = "correct-horse-battery"
SHIFTS = {"day": (8, 10), "late": (14, 9), "night": (21, 10)}  # first hour, hours long
REASONS = [
    "Burglary at a house in this street overnight, suspects left on foot",
    "Theft of a car from the driveway between 2 and 4 am",
    "Assault outside the shop, victim injured",
    "Criminal damage to parked vehicles along this road",
    "Robbery of a delivery driver near here",
    "Missing person last seen walking this way",
]
VAGUE = ["enquiries", "investigation", "ongoing police enquiries"]


def build_log(engine, rows: int, postcodes, seed: int = 2026, end: dt.datetime | None = None) -> dict:
    """Append ``rows`` synthetic, correctly chained audit rows over the 365 days before ``end``."""
    rng = random.Random(seed)
    end = end or dt.datetime.now(dt.UTC)
    start = end - dt.timedelta(days=365)
    officers = [(100 + i, f"officer{i:02d}", rng.choice(list(SHIFTS))) for i in range(60)]
    others = [
        (200, "auditor01", "auditor"),
        (201, "admin01", "admin"),
        (202, "analyst01", "analyst"),
        (203, "lead01", "lead"),
    ]
    pcs = postcodes[["lat", "lon"]].to_numpy()
    events: list[tuple] = []  # (at, user_id, username, role, action, case, reason, subjects, detail)
    case_no = 0
    while len(events) < rows:
        uid, name, shift = rng.choice(officers)
        first, length = SHIFTS[shift]
        day = start + dt.timedelta(days=rng.randrange(365))
        at = day.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(hours=first + rng.random() * length)
        case_no += 1
        case = f"CR-2026-{case_no:06d}"
        reason = rng.choice(VAGUE if rng.random() < 0.03 else REASONS)
        lat, lon = pcs[rng.randrange(len(pcs))]
        actor = (uid, name, "officer")
        events.append((at, *actor, "login", None, None, None, None))
        for k in range(rng.choice([1, 1, 1, 2, 3])):
            found = rng.randrange(0, 30)
            cams = rng.sample(range(1, 40000), found)
            events.append(
                (
                    at + dt.timedelta(minutes=2 + k),
                    *actor,
                    "search",
                    case,
                    reason,
                    cams,
                    {
                        "centre": {
                            "lat": round(float(lat) + rng.gauss(0, 0.0005), 5),
                            "lon": round(float(lon) + rng.gauss(0, 0.0005), 5),
                        },
                        "incident_at": None,
                        "radius_m": 200,
                        "results": found,
                        "source": "page",
                    },
                )
            )
            if found and rng.random() < 0.9:
                chosen = cams[: rng.randrange(1, min(found, 8) + 1)]
                events.append(
                    (
                        at + dt.timedelta(minutes=5 + k),
                        *actor,
                        "reveal_contact",
                        case,
                        reason,
                        chosen,
                        {"cameras": len(chosen)},
                    )
                )
                if rng.random() < 0.95:
                    events.append(
                        (
                            at + dt.timedelta(minutes=8 + k),
                            *actor,
                            "request_created",
                            case,
                            reason,
                            chosen,
                            {"request_ids": list(range(len(chosen)))},
                        )
                    )
                    for j in range(len(chosen) // 2):
                        events.append(
                            (
                                at + dt.timedelta(days=rng.randrange(1, 9)),
                                *actor,
                                "request_status",
                                case,
                                None,
                                [chosen[j]],
                                {"from": "sent", "to": "footage_provided"},
                            )
                        )
                    if rng.random() < 0.1:
                        events.append(
                            (at + dt.timedelta(days=1), *actor, "export", case, reason, chosen, {"rows": len(chosen)})
                        )
        events.append((at + dt.timedelta(minutes=40), *actor, "logout", None, None, None, None))
        if rng.random() < 0.15:
            events.append((at - dt.timedelta(minutes=1), None, name, None, "login_failed", None, None, None, None))
        if rng.random() < 0.4:
            events.append(
                (
                    start + dt.timedelta(seconds=rng.randrange(365 * 86400)),
                    None,
                    "public",
                    None,
                    "registration_created",
                    None,
                    None,
                    [rng.randrange(1, 30000)],
                    {"cameras": 1},
                )
            )
        if rng.random() < 0.01:
            uid2, name2, role2 = rng.choice(others)
            events.append((at, uid2, name2, role2, "login", None, None, None, None))
    events = [e for e in events[:rows] if e[0] < end]
    events.sort(key=lambda e: e[0])
    table = AuditEvent.__table__
    with engine.begin() as conn:
        prev = (
            conn.execute(sa.select(AuditEvent.row_hash).order_by(AuditEvent.id.desc()).limit(1)).scalar()
            or audit.GENESIS_HASH
        )
        batch = []
        for at, uid, name, role, action, case, reason, subjects, detail in events:
            values = {
                "occurred_at": at,
                "user_id": uid,
                "username": name,
                "role": role,
                "action": action,
                "case_ref": case,
                "reason": reason,
                "subject_ids": json.dumps([str(s) for s in subjects]) if subjects is not None else None,
                "detail": audit.canonical_json(detail) if detail is not None else None,
                "prev_hash": prev,
            }
            values["row_hash"] = prev = audit.row_digest(prev, audit.row_fields(values))
            batch.append(values)
            if len(batch) == 10_000:
                conn.execute(sa.insert(table), batch)
                batch = []
        if batch:
            conn.execute(sa.insert(table), batch)
    return {"rows": len(events), "cases": case_no, "officers": len(officers)}


def _callback_body(app, output_key: str, values: dict) -> dict:
    spec = app.callback_map[output_key]
    outputs = []
    for part in output_key.strip(".").split("..."):
        cid, prop = part.rsplit(".", 1)
        outputs.append({"id": cid, "property": prop})

    def fill(items):
        return [
            {"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")} for i in items
        ]

    return {
        "output": output_key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": fill(spec["inputs"]),
        "state": fill(spec["state"]),
        "changedPropIds": [f"{spec['inputs'][0]['id']}.{spec['inputs'][0]['property']}"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--db", help="a SQLite path or a database URL (default: a temp SQLite file)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'audit.db'}"
    if "://" not in url:
        url = f"sqlite:///{url}"
    settings = load_settings({"DATABASE_URL": url, "SECRET_KEY": "b" * 48})
    from dashboard.application import create_app
    from dashboard.registry.database import transaction
    from dashboard.runtime import prepare
    from dashboard.security.accounts import create_user

    rt = prepare(settings)
    with transaction(rt.sessions) as s:
        if s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) < args.rows:
            t = time.perf_counter()
            made = build_log(rt.engine, args.rows, rt.reference.postcodes)
            print(f"built {made['rows']:,} audit rows in {time.perf_counter() - t:.1f} s")
    with transaction(rt.sessions) as s:
        if not s.scalar(
            sa.select(sa.func.count()).select_from(sa.text("app_user")).where(sa.text("username = 'bench.auditor'"))
        ):
            create_user(s, "bench.auditor", PASSWORD, "auditor")
    with rt.sessions() as s:
        total = s.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        cpu = time.process_time()
        check = audit.verify_chain(s)
        cpu = time.process_time() - cpu
    print(
        f"{total:,} rows; chain check: intact={check.intact}, {check.rows_checked:,} rows in {check.elapsed_s:.2f} s "
        f"= {check.rows_per_s:,.0f} rows/s ({cpu:.2f} s CPU = {check.rows_checked / cpu:,.0f} rows per CPU second)"
    )

    app = create_app(rt)
    client = app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": "bench.auditor", "password": PASSWORD, "csrf_token": token, "next": "/"})
    from dashboard.pages import audit as page_module

    today = dt.datetime.now(page_module.audit_review.UK).date()
    with rt.sessions() as s:
        case = s.scalar(sa.select(AuditEvent.case_ref).where(AuditEvent.action == "search").limit(1).offset(5000))
    scenarios = {
        "last 30 days": {"from": today - dt.timedelta(days=29), "to": today},
        "last 90 days": {"from": today - dt.timedelta(days=89), "to": today},
        "whole year": {"from": today - dt.timedelta(days=365), "to": today},
        "year, one user": {"from": today - dt.timedelta(days=365), "to": today, "user": "officer07"},
        "year, one case": {"from": today - dt.timedelta(days=365), "to": today, "case": case},
        "year, one district": {
            "from": today - dt.timedelta(days=365),
            "to": today,
            "level": "district",
            "area": rt.reference.districts["code"].iloc[7],
        },
    }
    keys = {k.split(".")[0].strip(): k for k in app.callback_map}
    log_key = next(k for k in app.callback_map if k.startswith("..audit-log.rowData"))
    sum_key = next(k for k in app.callback_map if k.startswith("audit-summary.rowData"))
    map_key = next(k for k in app.callback_map if k.startswith("..audit-map-layer.data"))
    flag_key = next(k for k in app.callback_map if k.startswith("..audit-flags.rowData"))
    count_answer = lambda data: data["audit-flag-notes"]["children"][0]["props"]["children"]  # noqa: E731
    del keys
    print(
        "Times are wall-clock through the test client, first call (cold) and the median of the rest; CPU is this\n"
        "process's CPU time for the median call (the machine may be shared)."
    )
    print(f"{'scenario':<20} {'callback':<10} {'cold s':>7} {'median s':>9} {'CPU s':>6}  answer")
    for name, sc in scenarios.items():
        values = {
            "audit-from.value": sc["from"].isoformat(),
            "audit-to.value": sc["to"].isoformat(),
            "audit-user.value": sc.get("user"),
            "audit-role.value": "",
            "audit-actions.value": [],
            "audit-case.value": sc.get("case"),
            "audit-level.value": sc.get("level", ""),
            "audit-area.value": sc.get("area"),
            "audit-newer.n_clicks": 0,
            "audit-older.n_clicks": 0,
            "audit-page.data": 0,
            "audit-map-level.value": "district",
        }
        filt = {
            k: v
            for k, v in {
                "from": values["audit-from.value"],
                "to": values["audit-to.value"],
                "user": sc.get("user"),
                "case": sc.get("case"),
                "level": sc.get("level"),
                "area": sc.get("area"),
            }.items()
            if v
        }
        for label, key, extra in (
            ("log", log_key, {}),
            ("summary", sum_key, {"audit-filter.data": filt}),
            ("map", map_key, {"audit-filter.data": filt}),
            ("flags", flag_key, {"audit-filter.data": filt}),
        ):
            body = _callback_body(app, key, {**values, **extra})
            times, cpus, answer = [], [], ""
            for _ in range(args.repeat + 1):
                t, c = time.perf_counter(), time.process_time()
                response = client.post("/_dash-update-component", json=body)
                times.append(time.perf_counter() - t)
                cpus.append(time.process_time() - c)
                assert response.status_code == 200, response.get_data(as_text=True)[:300]
                data = response.get_json()["response"]
                if label == "log":
                    answer = data["audit-showing"]["children"]
                elif label == "flags":
                    answer = count_answer(data)
                elif label == "summary":
                    answer = f"{len(data['audit-summary']['rowData'])} users"
                else:
                    answer = data["audit-map-note"]["children"][:60]
            print(
                f"{name:<20} {label:<10} {times[0]:>7.3f} {statistics.median(times[1:]):>9.3f} "
                f"{statistics.median(cpus[1:]):>6.3f}  {answer}"
            )
    t = time.perf_counter()
    response = client.get(f"/audit/export.csv?from={today - dt.timedelta(days=365)}&to={today}")
    size = len(response.get_data())
    print(f"export whole year: {size / 1e6:.1f} MB in {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    body = _callback_body(app, "audit-check-result.children", {"audit-check.n_clicks": 1})
    client.post("/_dash-update-component", json=body)
    print(f"chain check callback: {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
