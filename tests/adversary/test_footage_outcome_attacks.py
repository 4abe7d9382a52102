"""Attacks on issue 17's request-outcome figures (what became of the footage: time to the first
upload, files accepted / declined / awaiting, declined reasons, too-late requests), as a project
lead would make them with the uptake page or ``/api/v1/metrics/requests``.

Each attack is run twice on the same seeded worlds: against a **naive** implementation written
out here (exact counts over the chosen weeks, suppressed below K; the share from the exact counts,
shown whenever the uploaded files are; the exact median wait), where it must give the hidden
figures back, which proves that the attack works; and against the published figures
(``uptake.footage_outcomes`` through the layer), where hidden counts may come back no more often
than an optimal attacker gets them from independent draws of the perturbation table (three
standard errors allowed: ``attack.Score``), and the other figures must say nothing at all.

1. **Date ranges**: weeks 1 and 1..2 asked separately; their difference is week 2, whose small
   counts are hidden.
2. **One more upload**: the same weeks asked before and after a few uploads (a day's uploads are
   never published on their own); and the time to the first upload before and after a lone owner's
   upload (issue 16's attack on the time to footage, repeated on the new figure).
3. **Share and counts**: a share beside a hidden count (share x total gives it back), and a hidden
   part of a table given back by subtracting its shown parts from the total (files awaiting a
   decision, a declined reason, a too-late outcome).

What consistent perturbation does not hide, and these tests do not claim: between two readings,
the figures of the cells that did not change stay the same, so a lead who reads the page before
and after one upload can usually tell which shown row moved (as with request statuses since issue
6); what moves it by is the true change plus noise.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from dashboard.analytics import uptake
from dashboard.analytics.disclosure import Disclosure, PTable
from dashboard.core.vocab import DECLINE_REASONS
from tests.adversary.attack import Case, Score

K = 8
TABLE = PTable.build(K, 3, 2.0)  # the settings' defaults: K 8, at most 3, variance 2
LAYER = Disclosure(TABLE)
EXACT = PTable.build(K, 0, 0.0)  # the naive figures' "table": no noise, for scoring the same attack on them
WEEK1, WEEK2 = dt.date(2026, 7, 6), dt.date(2026, 7, 13)
REASONS = list(DECLINE_REASONS)
STATUSES = list(uptake.OUTCOMES)


# ----------------------------------------------------------------------------- seeded worlds


def _at(rng, monday: dt.date, n: int) -> pd.Series:
    minutes = rng.integers(0, 7 * 24 * 60, n)
    start = pd.Timestamp(monday).tz_localize("Europe/London")
    return pd.Series(
        [(start + pd.Timedelta(minutes=int(m))).tz_convert("UTC") for m in minutes], dtype="datetime64[ns, UTC]"
    )


def make_files(rng, monday: dt.date, n: int) -> pd.DataFrame:
    """n uploaded files answering requests sent in the week of ``monday``: a decision each (about
    four in ten accepted, four in ten declined for a reason, two awaiting), random record keys."""
    triage = rng.choice(np.array(["accepted", "declined", None], dtype=object), n, p=[0.4, 0.4, 0.2])
    reason = np.where(
        triage == "declined", rng.choice(np.array(REASONS, dtype=object), n, p=[0.35, 0.2, 0.15, 0.1, 0.1, 0.1]), None
    )
    return pd.DataFrame(
        {
            "sent_at": _at(rng, monday, n),
            "triage": triage,
            "decline_reason": reason,
            "record_key": rng.integers(0, 256, n),
            "district_code": "A",
        }
    )


def make_requests(rng, monday: dt.date, n: int) -> pd.DataFrame:
    """n requests sent in the week of ``monday``: half with an upload (after 0.2 to 12 days), a third
    sent too late, statuses at random, a file accepted for some of those with an upload."""
    sent = _at(rng, monday, n)
    uploaded = rng.random(n) < 0.5
    waits = pd.to_timedelta(rng.uniform(0.2, 12.0, n), unit="D")
    status = np.where(uploaded, "footage_provided", rng.choice(np.array(STATUSES[1:], dtype=object), n))
    return pd.DataFrame(
        {
            "status": status,
            "sent_at": sent,
            "status_changed_at": sent,
            "footage_useful": pd.array([None] * n, dtype="boolean"),
            "footage_likely_overwritten": rng.random(n) < 0.35,
            "first_upload_at": (sent + waits).where(pd.Series(uploaded)),
            "file_accepted": uploaded & (rng.random(n) < 0.6),
            "record_key": rng.integers(0, 256, n),
            "district_code": "A",
            "crime_category": "Burglary",
        }
    )


# ----------------------------------------------------------------------------- the naive figures


def exact_counts(requests: pd.DataFrame, files: pd.DataFrame, first: dt.date, last: dt.date) -> dict[str, int]:
    """Every count of the card, exact, for requests (and the files answering requests) sent in the
    whole UK weeks holding first..last."""
    monday, sunday = uptake.whole_weeks(first, last)

    def inside(frame):
        day = frame["sent_at"].dt.tz_convert("Europe/London").dt.date
        return frame[(day >= monday) & (day <= sunday)]

    r, f = inside(requests), inside(files)
    late = r["footage_likely_overwritten"].astype(bool)
    out = {
        "uploaded": int(r["first_upload_at"].notna().sum()),
        "too_late": int(late.sum()),
        "files": len(f),
        "accepted": int((f["triage"] == "accepted").sum()),
        "declined": int((f["triage"] == "declined").sum()),
        "awaiting": int(f["triage"].isna().sum()),
        "late:file_accepted": int((late & r["file_accepted"]).sum()),
    }
    out.update({f"reason:{x}": int((f["decline_reason"] == x).sum()) for x in REASONS})
    out.update({f"late:{s}": int((late & (r["status"] == s)).sum()) for s in STATUSES})
    return out


def naive(requests, files, first, last) -> dict:
    """The naive implementation: exact counts, not shown below K; the share from the exact counts,
    shown when the uploaded files are; the exact median time to the first upload (in days)."""
    true = exact_counts(requests, files, first, last)
    counts = {name: (n if n >= K else None) for name, n in true.items()}
    share = round(true["accepted"] / true["files"], 4) if true["files"] >= K else None
    monday, sunday = uptake.whole_weeks(first, last)
    day = requests["sent_at"].dt.tz_convert("Europe/London").dt.date
    chosen = requests[(day >= monday) & (day <= sunday)]
    waits = uptake.first_upload_days(chosen)
    waits = waits[~np.isnan(waits)]
    return {"counts": counts, "share": share, "median": float(np.median(waits)) if len(waits) >= K else None}


def published(requests, files, first, last) -> dict:
    """The same figures as the page and the API publish them."""
    out = uptake.footage_outcomes(requests, files, first, last, LAYER)
    counts = {
        "uploaded": out["uploaded"].value,
        "too_late": out["too_late"].value,
        **{name: c.value for name, c in out["files"].items()},
        **{f"reason:{r}": c.value for r, c in out["declined_reasons"].items()},
        **{f"late:{o}": c.value for o, c in out["too_late_outcomes"].items()},
    }
    return {
        "counts": counts,
        "share": out["accepted_share"],
        "median": (out["median_days_to_first_upload"], out["p90_days_to_first_upload"]),
    }


def _check(score: Score, naive_score: Score, report) -> None:
    report(score.line())
    assert naive_score.n == score.n and score.n >= 50, f"too few hidden counts to measure ({score.n})"
    assert naive_score.recovered == naive_score.n, f"the attack must work on the naive figures: {naive_score.line()}"
    assert score.share <= score.bound, (
        f"LEAK: {score.name}: {score.recovered} of {score.n} hidden counts recovered exactly ({score.share:.1%}), "
        f"above what independent noise allows ({score.chance:.1%}, at most {score.bound:.1%}). "
        f"Examples: {score.examples()}"
    )


def _difference_cases(score: Score, before: dict, after: dict, true_before: dict, true_after: dict, where: str):
    """Hidden counts (1..K-1) given by after - before, wherever both are shown."""
    for name in true_after:
        h = true_after[name] - true_before[name]
        if 1 <= h < K and before[name] is not None and after[name] is not None:
            score.add(
                Case(h, (after[name],), (before[name],), (true_after[name],), (true_before[name],), f"{where} {name}")
            )


# ----------------------------------------------------------------------------- 1. date ranges


def test_a_weeks_hidden_counts_do_not_come_back_by_differencing_date_ranges(report):
    rng = np.random.default_rng(1701)
    score = Score("footage outcomes: week 2 as (weeks 1..2) - (week 1)", TABLE, K)
    plain = Score("the same attack on the naive figures", EXACT, K)
    for trial in range(120):
        files = pd.concat(
            [make_files(rng, WEEK1, int(rng.integers(40, 140))), make_files(rng, WEEK2, int(rng.integers(1, 16)))],
            ignore_index=True,
        )
        reqs = pd.concat(
            [
                make_requests(rng, WEEK1, int(rng.integers(40, 140))),
                make_requests(rng, WEEK2, int(rng.integers(1, 16))),
            ],
            ignore_index=True,
        )
        truth = (exact_counts(reqs, files, WEEK1, WEEK1), exact_counts(reqs, files, WEEK1, WEEK2))
        week2 = exact_counts(reqs, files, WEEK2, WEEK2)
        assert all(week2[n] == truth[1][n] - truth[0][n] for n in week2)
        for target, figures in ((score, published), (plain, naive)):
            one, two = figures(reqs, files, WEEK1, WEEK1), figures(reqs, files, WEEK1, WEEK2)
            _difference_cases(target, one["counts"], two["counts"], *truth, f"trial {trial}")
            if figures is published:  # the week on its own: its small counts are not shown
                alone = figures(reqs, files, WEEK2, WEEK2)["counts"]
                assert all(alone[n] is None for n in week2 if week2[n] < K)
    _check(score, plain, report)


# ----------------------------------------------------------------------------- 2. one more upload


def test_the_uploads_between_two_readings_do_not_come_back(report):
    rng = np.random.default_rng(1702)
    score = Score("footage outcomes: the same weeks read before and after a few uploads", TABLE, K)
    plain = Score("the same attack on the naive figures", EXACT, K)
    for trial in range(150):
        files = make_files(rng, WEEK1, int(rng.integers(30, 120)))
        reqs = make_requests(rng, WEEK1, int(rng.integers(30, 120)))
        more_files = pd.concat([files, make_files(rng, WEEK1, int(rng.integers(1, 8)))], ignore_index=True)
        # ... and a few owners upload for the first time (their requests now have an upload, one accepted).
        more_reqs = reqs.copy()
        waiting = more_reqs.index[more_reqs["first_upload_at"].isna()][: int(rng.integers(1, 8))]
        more_reqs.loc[waiting, "first_upload_at"] = more_reqs.loc[waiting, "sent_at"] + pd.Timedelta(days=2)
        more_reqs.loc[waiting, "file_accepted"] = True
        truth = (exact_counts(reqs, files, WEEK1, WEEK1), exact_counts(more_reqs, more_files, WEEK1, WEEK1))
        for target, figures in ((score, published), (plain, naive)):
            before, after = figures(reqs, files, WEEK1, WEEK1), figures(more_reqs, more_files, WEEK1, WEEK1)
            _difference_cases(target, before["counts"], after["counts"], *truth, f"trial {trial}")
    _check(score, plain, report)


def _timing_world(secret: float | None) -> pd.DataFrame:
    """Nine requests in week 1 whose owners uploaded after 1..9 days, and one in week 2 whose owner
    uploaded after ``secret`` days (None: not yet)."""
    rows = [(WEEK1 + dt.timedelta(days=1), float(d)) for d in range(1, 10)] + [(WEEK2 + dt.timedelta(days=1), secret)]
    sent = pd.Series(
        [pd.Timestamp(d).tz_localize("UTC") + pd.Timedelta(hours=9) for d, _ in rows], dtype="datetime64[ns, UTC]"
    )
    first = pd.Series(
        [s + pd.Timedelta(days=w) if w is not None else pd.NaT for s, (_, w) in zip(sent, rows)],
        dtype="datetime64[ns, UTC]",
    )
    return pd.DataFrame(
        {
            "status": "footage_provided",
            "sent_at": sent,
            "status_changed_at": sent,
            "footage_useful": pd.array([None] * 10, dtype="boolean"),
            "footage_likely_overwritten": False,
            "first_upload_at": first,
            "file_accepted": False,
            "record_key": [(37 * i + 11) % 256 for i in range(10)],
            "district_code": "A",
            "crime_category": "Burglary",
        }
    )


def test_a_lone_owners_time_to_first_upload_does_not_come_back():
    # The lead reads weeks 1..2 before and after the lone owner of week 2 uploads (or reads week 1,
    # then weeks 1..2): the naive exact median goes from 5 to (5 + secret) / 2 for a secret wait
    # between 5 and 6 days, giving it back to the minute.
    no_files = make_files(np.random.default_rng(0), WEEK1, 0)
    secrets = [5.1, 5.3, 5.45, 5.6, 5.75, 5.9]
    recovered, seen = [], set()
    for secret in secrets:
        before, after = _timing_world(None), _timing_world(secret)
        naive_before = naive(before, no_files, WEEK1, WEEK2)["median"]
        naive_after = naive(after, no_files, WEEK1, WEEK2)["median"]
        recovered.append(round(2 * naive_after - naive_before, 6))
        seen.add(
            (
                published(before, no_files, WEEK1, WEEK2)["median"],
                published(after, no_files, WEEK1, WEEK2)["median"],
                published(after, no_files, WEEK1, WEEK1)["median"],
            )
        )
        assert published(after, no_files, WEEK2, WEEK2)["median"] == (None, None)  # one request: nothing shown
    assert recovered == secrets, "the attack must work on the naive median"
    # Published: bands from published counts, the same whatever the lone wait.
    assert len(seen) == 1, f"LEAK: what is published depends on the lone owner's wait: {seen}"
    assert all(band in uptake.WAIT_BANDS for pair in next(iter(seen)) for band in pair)


# ----------------------------------------------------------------------------- 3. share and counts


def test_the_share_accepted_never_gives_a_hidden_count_back(report):
    rng = np.random.default_rng(1703)
    naive_back = hidden_beside_share = shown = 0
    for _ in range(300):
        accepted = int(rng.integers(1, 8))  # fewer than K accepted: hidden
        files = make_files(rng, WEEK1, int(rng.integers(10, 60)))
        files["triage"] = files["triage"].where(files["triage"] != "accepted", "declined")
        files.loc[files.index[:accepted], "triage"] = "accepted"
        files["decline_reason"] = np.where(files["triage"] == "declined", "other", None)
        reqs = make_requests(rng, WEEK1, 20)
        # Naive: the share from exact counts, shown as the files are; share x files gives the 1..7 back.
        plain = naive(reqs, files, WEEK1, WEEK1)
        assert plain["counts"]["accepted"] is None and plain["share"] is not None
        naive_back += round(plain["share"] * plain["counts"]["files"]) == accepted
        out = published(reqs, files, WEEK1, WEEK1)
        assert out["counts"]["accepted"] is None
        hidden_beside_share += out["share"] is not None
    assert naive_back == 300, "the attack must work on the naive share"
    assert hidden_beside_share == 0, "LEAK: a share is shown beside a hidden count of accepted files"
    # Where both counts are shown, the share is a function of them (so it tells nothing more).
    for _ in range(200):
        files = make_files(rng, WEEK1, int(rng.integers(20, 200)))
        out = published(make_requests(rng, WEEK1, 10), files, WEEK1, WEEK1)
        a, n = out["counts"]["accepted"], out["counts"]["files"]
        if a is not None and n is not None:
            shown += 1
            assert out["share"] == min(round(a / n, 4), 1.0)
    report(
        f"share accepted: shown beside a hidden count of accepted files 0 times in 300 (the naive share gave the "
        f"count back 300 times); {shown} shares shown beside both counts, each their quotient"
    )
    assert shown > 150


def test_hidden_parts_do_not_come_back_by_subtraction_from_the_shown_total(report):
    rng = np.random.default_rng(1704)
    score = Score("footage outcomes: a hidden part as the total minus its shown parts", TABLE, K)
    plain = Score("the same attack on the naive figures", EXACT, K)
    partitions = [
        ("files", ["accepted", "declined", "awaiting"]),
        ("declined", [f"reason:{r}" for r in REASONS]),
        ("too_late", [f"late:{s}" for s in STATUSES]),
    ]
    for trial in range(200):
        files = make_files(rng, WEEK1, int(rng.integers(20, 90)))
        reqs = make_requests(rng, WEEK1, int(rng.integers(30, 120)))
        true = exact_counts(reqs, files, WEEK1, WEEK1)
        for target, figures in ((score, published), (plain, naive)):
            counts = figures(reqs, files, WEEK1, WEEK1)["counts"]
            for total, parts in partitions:
                shown = [p for p in parts if counts[p] is not None]
                h = true[total] - sum(true[p] for p in shown)
                if counts[total] is None or not 1 <= h < K:
                    continue
                target.add(
                    Case(
                        h,
                        (counts[total],),
                        tuple(counts[p] for p in shown),
                        (true[total],),
                        tuple(true[p] for p in shown),
                        f"trial {trial} {total}",
                    )
                )
    _check(score, plain, report)


def test_no_figure_for_a_week_of_fewer_than_k_records():
    rng = np.random.default_rng(1705)
    files, reqs = make_files(rng, WEEK2, 5), make_requests(rng, WEEK2, 5)
    out = published(reqs, files, WEEK2, WEEK2)
    assert all(v is None for v in out["counts"].values()) and out["share"] is None and out["median"] == (None, None)
