"""Exporting a case's hand-off bundle (evidence/bundle.py), streamed to a file, beside a plain
``zip -0`` of the same files on the same disk in the same run, and the memory the export takes.

Usage::

    python -m benchmarks.bench_export                 # a 10 GB case: 5 accepted files of 2 GiB
    python -m benchmarks.bench_export --gb 1          # a quick run (5 files of 205 MiB)
    python -m benchmarks.bench_export --work /path    # where the store, the bundle and the zip go (one disk)

It builds a case as the app keeps one: a migrated SQLite database with an officer, an owner, a
request, the owner's answer with their statement, and ``--files`` stored files (written straight
into the content-addressed store, each hashed as written, from a random 4 MiB block with a
counter in each block so no two blocks or files are alike), each accepted as an exhibit. Then,
in this order (``zip`` first, so any page-cache warmth helps the baseline, not the bundle):

- ``zip -0 -q`` of the same stored files to a ZIP on the same disk (stored, not deflated, as the
  bundle is; no fsync, as the bundle's file is not fsynced either);
- the bundle: ``build_bundle`` (database reads, manifest, statement, audit extract) and its bytes
  written to a file as a streamed HTTP response would send them; every file is re-hashed while it
  is streamed;
- ``evidence verify`` of that bundle (re-hashes every file against the manifest).

Each output is deleted after it is timed. Memory: this process's RSS (``/proc/self/status``),
sampled every 50 ms while the bundle streams: its growth over the RSS before it is the export's
memory (flat: independent of the case's size).

Target: the bundle at least half as fast as ``zip -0`` (it hashes every byte; zip only CRCs them)
and its memory growth under 100 MB for any case size.

Measured on this project's 2-core machine (shared with other sessions, load average 5-7), 10 GiB
in 5 files of 2 GiB, 5 December 2026::

    zip -0 -q of the same files (same disk, no fsync)             107.1     95.6
    bundle: build + stream to a file, every file re-hashed         71.9    142.5
    evidence verify of the bundle                                  25.8    396.3   (PASSED)
    bundle time / zip time: 0.67x (bundle speed / zip speed 1.49x; target at least 0.5x: met)
    bundle bytes 10,737,442,721 (announced in advance: 10,737,442,721, equal); zip -0 bytes 10,737,419,654
    memory (RSS of this process) while streaming: 199 MiB before, peak 203 MiB, 202 MiB after; growth 3.4 MiB
    for a 10.0 GiB case (target under 100 MB: met)

A 0.5 GiB run (``--gb 0.5``) in the same hour: zip 3.9 s, bundle 5.6 s (0.69x zip's speed), growth
3.4 MiB: the memory does not grow with the case. Both are bound by the shared disk, not by hashing
(SHA-256 runs at ~1.7 GB/s on one core here); ``zip`` reads with small buffers, the bundle in 1 MiB
blocks, which is likely why it was the faster of the two at 10 GiB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

MiB = 1 << 20
BLOCK = 4 * MiB
CASE = "CR-2026-BENCH01"


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class _Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self.stop = 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(0.05)


def write_file(store, index: int, size: int) -> str:
    """A file of ``size`` bytes in the store (fast: one random block, a counter in each copy); its SHA-256."""
    seed = os.urandom(BLOCK)
    hasher = hashlib.sha256()
    store.ensure()
    part = store.incoming / f"bench-{index}.part"
    written = 0
    with open(part, "wb", buffering=0) as out:
        n = 0
        while written < size:
            block = (index.to_bytes(4, "big") + n.to_bytes(8, "big") + seed[12:])[: size - written]
            hasher.update(block)
            out.write(block)
            written += len(block)
            n += 1
    sha = hasher.hexdigest()
    target = store.path_for(sha)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, target)
    return sha


def build_case(env: dict, store, n_files: int, file_size: int):
    """The database with one case whose ``n_files`` stored files are accepted; returns (runtime, case id)."""
    from dashboard.config import load_settings
    from dashboard.registry import casework
    from dashboard.registry.database import transaction
    from dashboard.registry.models import (
        Camera,
        EvidenceFile,
        FootageRequest,
        FootageResponse,
        Registrant,
        Site,
        utcnow,
    )
    from dashboard.runtime import prepare
    from dashboard.security.accounts import create_user

    rt = prepare(load_settings(env))
    now = utcnow()
    shas = []
    for i in range(n_files):
        t = time.perf_counter()
        shas.append(write_file(store, i, file_size))
        print(
            f"  file {i + 1}/{n_files}: {file_size / MiB:,.0f} MiB written and hashed in "
            f"{time.perf_counter() - t:.1f} s",
            flush=True,
        )
    with transaction(rt.sessions) as s:
        officer = create_user(s, "officer.bench", "benchmark-password-2026", "officer")
        s.flush()
        owner = Registrant(
            reference="BENCH00001",
            name="Owner",
            email="owner@example.org",
            consent_at=now,
            status="active",
            last_confirmed_at=now,
        )
        site = Site(
            registrant=owner,
            kind="home",
            address="1 Bench Street",
            postcode="ST16 2AB",
            lat=52.8,
            lon=-2.1,
            easting_m=392000.0,
            northing_m=323000.0,
            district_code="E07000197",
        )
        camera = Camera(
            site=site, kind="fixed", mount="wall", placement="outdoor", recording_mode="continuous", retention_days=30
        )
        s.add_all([owner, site, camera])
        s.flush()
        case = casework.ensure_case_file(s, CASE, officer.id)
        start = now - dt.timedelta(days=2)
        response = FootageResponse(
            case_ref=CASE,
            registrant_id=owner.id,
            requested_by_id=officer.id,
            answer="footage",
            answered_at=now,
            clock_offset_s=95,
            copy_made_by_owner=True,
            copy_made_at=now - dt.timedelta(hours=1),
            signed_name="Owner",
        )
        s.add(response)
        s.flush()
        s.add(
            FootageRequest(
                case_ref=CASE,
                camera_id=camera.id,
                requested_by_id=officer.id,
                incident_lat=52.8,
                incident_lon=-2.1,
                incident_from=start,
                incident_to=start + dt.timedelta(minutes=30),
                status="footage_provided",
                sent_at=now - dt.timedelta(days=1),
                status_changed_at=now,
                response_id=response.id,
            )
        )
        for i, sha in enumerate(shas):
            s.add(
                EvidenceFile(
                    response_id=response.id,
                    upload_key=f"bench{i:02d}".ljust(43, "x"),
                    original_name=f"camera export {i + 1}.mp4",
                    caption=f"part {i + 1}",
                    declared_size=file_size,
                    received_bytes=file_size,
                    sha256=sha,
                    state="stored",
                    media={
                        "kind": "video",
                        "container": "mp4",
                        "codec": "h264",
                        "duration_s": 3600.0,
                        "recorded_at": start.isoformat(),
                    },
                    completed_at=now,
                    triage="accepted",
                    triaged_at=now,
                    triaged_by_id=officer.id,
                    exhibit_ref=f"OB/{i + 1}",
                )
            )
        case_id = case.public_id
    return rt, case_id, shas


def export(rt, case_id: str, store, out: Path):
    """Build the bundle and stream it to ``out``; returns (seconds, bytes written, size announced,
    the RSS sampler, RSS before)."""
    import sqlalchemy as sa

    from dashboard.evidence.bundle import build_bundle
    from dashboard.registry import audit
    from dashboard.registry.database import transaction
    from dashboard.registry.models import CaseFile, User, utcnow

    with rt.sessions() as s:
        user = s.scalar(sa.select(User).where(User.username == "officer.bench"))
        actor = audit.Actor(user.id, user.username, user.role)
    with transaction(rt.sessions) as s:
        audit_id = audit.record(
            s,
            actor,
            "evidence_exported",
            case_ref=CASE,
            reason="benchmark export",
            detail={"case_id": case_id, "scope": "case"},
        ).id
    before = _rss()
    sampler = _Sampler()
    sampler.start()
    started = time.perf_counter()
    with rt.sessions() as s:
        case = s.scalar(sa.select(CaseFile).where(CaseFile.public_id == case_id))
        bundle = build_bundle(
            s,
            case,
            request_public_id=None,
            store=store,
            actor=actor,
            export_audit_id=audit_id,
            reason="benchmark export",
            now=utcnow(),
            force_name="Benchmark Police",
        )
    written = 0
    with open(out, "wb", buffering=0) as f:
        for chunk in bundle:
            f.write(chunk)
            written += len(chunk)
    took = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    return took, written, bundle.size, sampler, before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=10.0, help="size of the case in GiB (default 10)")
    parser.add_argument("--files", type=int, default=5, help="number of accepted files (default 5)")
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="folder for the store, the bundle and the zip (default: a temp folder; all on one disk)",
    )
    parser.add_argument("--no-verify", action="store_true", help="do not time 'evidence verify' of the bundle")
    args = parser.parse_args(argv)
    if shutil.which("zip") is None:
        raise SystemExit("zip is not installed (apt-get install zip): it is the baseline")
    file_size = int(args.gb * (1 << 30) / args.files) // MiB * MiB
    total = file_size * args.files
    work = Path(tempfile.mkdtemp(prefix="bench-export-", dir=args.work))
    free = shutil.disk_usage(work).free
    if free < total * 2.2:
        shutil.rmtree(work, ignore_errors=True)
        raise SystemExit(
            f"{free / (1 << 30):.1f} GiB free in {work.parent}; this run needs about "
            f"{total * 2.2 / (1 << 30):.1f} GiB (the case, then one output at a time)"
        )
    try:
        from dashboard.footage.storage import Store

        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
            "EVIDENCE_DIR": str(work / "evidence"),
            "OUTBOX_WORKER": "0",
        }
        env.setdefault("SECRET_KEY", "benchmark-" + "k" * 40)
        env.setdefault("AUDIT_KEY", "benchmark-audit-" + "a" * 40)
        store = Store(work / "evidence")
        print(
            f"building a case of {args.files} accepted files x {file_size / MiB:,.0f} MiB = "
            f"{total / (1 << 30):.2f} GiB "
            f"in {work}",
            flush=True,
        )
        rt, case_id, shas = build_case(env, store, args.files, file_size)
        paths = [str(store.path_for(sha)) for sha in shas]

        plain = work / "plain.zip"
        t = time.perf_counter()
        subprocess.run(["zip", "-0", "-q", "-j", str(plain), *paths], check=True)
        zip_s = time.perf_counter() - t
        zip_bytes = plain.stat().st_size
        plain.unlink()
        print(f"  zip -0 done in {zip_s:.1f} s", flush=True)

        out = work / "bundle.zip"
        bundle_s, written, announced, sampler, before = export(rt, case_id, store, out)
        after = _rss()
        print(f"  bundle done in {bundle_s:.1f} s", flush=True)
        verify_s, verified = None, None
        if not args.no_verify:
            from dashboard.evidence.verify import verify_bundle

            t = time.perf_counter()
            report = verify_bundle(out)
            verify_s, verified = time.perf_counter() - t, report.ok
        out.unlink()
        rt.engine.dispose()

        gib = total / (1 << 30)
        growth = (sampler.peak - before) / MiB
        ratio = bundle_s / zip_s
        print(f"case: {args.files} accepted files, {total / MiB:,.0f} MiB ({gib:.2f} GiB) in all")
        print(f"{'measure':<58} {'seconds':>8} {'MiB/s':>8}")
        print(f"{'zip -0 -q of the same files (same disk, no fsync)':<58} {zip_s:8.1f} {total / zip_s / MiB:8.1f}")
        print(
            f"{'bundle: build + stream to a file, every file re-hashed':<58} {bundle_s:8.1f} "
            f"{total / bundle_s / MiB:8.1f}"
        )
        if verify_s is not None:
            print(
                f"{'evidence verify of the bundle':<58} {verify_s:8.1f} {total / verify_s / MiB:8.1f}   "
                f"({'PASSED' if verified else 'FAILED'})"
            )
        print(
            f"bundle time / zip time: {ratio:.2f}x (bundle speed / zip speed {1 / ratio:.2f}x; target at least 0.5x: "
            f"{'met' if 1 / ratio >= 0.5 else 'NOT met'})"
        )
        print(
            f"bundle bytes {written:,} (announced in advance: {announced:,}, "
            f"{'equal' if written == announced else 'DIFFERENT'}); zip -0 bytes {zip_bytes:,}"
        )
        print(
            f"memory (RSS of this process) while streaming: {before / MiB:.0f} MiB before, peak "
            f"{sampler.peak / MiB:.0f} MiB, {after / MiB:.0f} MiB after; growth {growth:.1f} MiB for a "
            f"{gib:.1f} GiB case (target under 100 MB: {'met' if growth * MiB < 100e6 else 'NOT met'})"
        )
        return 0 if written == announced and verified is not False else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
