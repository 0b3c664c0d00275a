#!/usr/bin/env python3
"""summary.md of a bench/run-roster-refresh.sh results directory.

Reads raw.jsonl (one roster-refresh JSON object per round, plus `round` and
`exit`) and meta.txt; prints the figures (median, min-max, per round), the
correctness checks of every round and the verdict against issue 10's target
(refresh of all users under 1 s, every user updated, every push delivered).
"""
import json
import statistics
import sys
from pathlib import Path

TARGET_MS = 1000.0


def load(results):
    rows = []
    raw = results / "raw.jsonl"
    if raw.exists():
        for line in raw.read_text().splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def num(r, key):
    v = r.get(key)
    return v if isinstance(v, (int, float)) else None


def fmt(v, digits=0):
    if v is None:
        return "–"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def spread(rows, key, digits=0, scale=1.0):
    vals = [num(r, key) for r in rows]
    got = [v * scale for v in vals if v is not None]
    per_round = " / ".join(fmt(v * scale if v is not None else None, digits) for v in vals)
    if not got:
        return "–", "–", per_round
    return fmt(statistics.median(got), digits), f"{fmt(min(got), digits)}–{fmt(max(got), digits)}", per_round


def checks(r):
    """What is wrong with a round, as short texts (empty: correct)."""
    users = num(r, "users") or 0
    bad = []
    if r.get("status") != "done":
        bad.append(f"status: {r.get('status')}")
    if num(r, "online") != users:
        bad.append(f"online {fmt(num(r, 'online'))} of {fmt(users)} ({r.get('first_login_errors', '')[:200]})")
    if num(r, "rosters_v1_ok") != users:
        bad.append(f"roster get = version 1 for {fmt(num(r, 'rosters_v1_ok'))} users only")
    if num(r, "refresh_status") != 200:
        bad.append(f"refresh HTTP status {r.get('refresh_status')} {r.get('refresh_failure', '')}")
    if num(r, "refresh_updated") != users or num(r, "refresh_errors") != 0:
        bad.append(f"answer updated {fmt(num(r, 'refresh_updated'))}, errors {fmt(num(r, 'refresh_errors'))}")
    if num(r, "backend_requests_refresh") != users:
        bad.append(f"{fmt(num(r, 'backend_requests_refresh'))} backend requests during the call (one per user expected)")
    if num(r, "backend_v2_max_per_user") not in (None, 1):
        bad.append(f"a user fetched {fmt(num(r, 'backend_v2_max_per_user'))} times")
    if num(r, "pushes") != num(r, "pushes_expected"):
        bad.append(f"pushes {fmt(num(r, 'pushes'))} of {fmt(num(r, 'pushes_expected'))}")
    if num(r, "rosters_v2_ok") != users:
        bad.append(f"client rosters = version 2 after the pushes for {fmt(num(r, 'rosters_v2_ok'))} users only")
    for k in ("pushes_unexpected", "pushes_not_both", "pushes_without_ver", "sessions_ended"):
        if num(r, k):
            bad.append(f"{k} {fmt(num(r, k))}")
    return bad


def notes(r):
    """What is worth knowing but not part of the refresh's correctness."""
    out = []
    users = num(r, "users") or 0
    before = num(r, "pushes_before_refresh")
    if before:
        out.append(
            f"{fmt(before)} roster pushes reached the clients before the refresh "
            f"({before / users:.1f} per user; the login's roster get already returns the whole roster)"
        )
    pres = (num(r, "presences_available_after"), num(r, "presences_unavailable_after"))
    if pres != (2 * users, 2 * users):
        out.append(
            f"presences after the call: {fmt(pres[0])} available / {fmt(pres[1])} unavailable "
            f"(2 × {fmt(users)} each expected: both ways per added and per removed contact)"
        )
    return out


def foreign(r, core, process_cpu_key):
    """Busy % of a core during the call beyond the process pinned to it and
    the kernel's softirq work: other processes on the shared box."""
    busy = num(r, f"{core}_core_busy_pct_refresh_call")
    softirq = num(r, f"{core}_core_softirq_pct_refresh_call") or 0.0
    cpu, ms = num(r, process_cpu_key), num(r, "refresh_ms")
    if None in (busy, cpu, ms) or ms <= 0:
        return None
    return max(0.0, busy - softirq - 100.0 * cpu / (ms / 1000.0))


def add_foreign(rows):
    for r in rows:
        r["_server_foreign"] = foreign(r, "server", "server_cpu_s_refresh_call")
        r["_load_foreign"] = foreign(r, "load", "tool_cpu_s_refresh_call")
        cpu, ms = num(r, "server_cpu_s_refresh_call"), num(r, "refresh_ms")
        r["_server_cpu_pct"] = 100.0 * cpu / (ms / 1000.0) if cpu is not None and ms else None
        cpu = num(r, "tool_cpu_s_refresh_call")
        r["_tool_cpu_pct"] = 100.0 * cpu / (ms / 1000.0) if cpu is not None and ms else None


def disturbed(r):
    why = []
    for key, what in (("_server_foreign", "server"), ("_load_foreign", "load")):
        f = num(r, key)
        if f is not None and f > 15:
            why.append(f"{what} core {f:.0f} % busy with other processes")
    for core in ("server", "load"):
        steal = num(r, f"{core}_core_steal_pct_refresh_call")
        if steal is not None and steal > 5:
            why.append(f"{core} core {steal:.0f} % stolen by the hypervisor")
    if r.get("quiet_before_refresh") is False:
        why.append("cores not quiet before the call")
    return why


def main():
    results = Path(sys.argv[1])
    rows = load(results)
    add_foreign(rows)
    out = ["# Roster refresh (issue 10)", ""]
    meta = results / "meta.txt"
    if meta.exists():
        out += ["```", meta.read_text().rstrip(), "```", ""]
    if not rows:
        out.append("No round produced a result.")
        print("\n".join(out))
        return
    users = num(rows[0], "users")
    out += [
        f"{len(rows)} round(s), {fmt(users)} online users × {fmt(num(rows[0], 'contacts'))} contacts, "
        "each round on a freshly started roostd with a fresh data dir.",
        "",
        "| figure | median | min–max | per round |",
        "|---|---|---|---|",
    ]
    figures = [
        ("**wall time of `POST /roster_admin/refresh`**, ms", "refresh_ms", 1, 1.0),
        ("answer: updated", "refresh_updated", 0, 1.0),
        ("answer: errors", "refresh_errors", 0, 1.0),
        ("backend requests during the call", "backend_requests_refresh", 0, 1.0),
        ("backend requests in flight at most", "backend_max_in_flight", 0, 1.0),
        ("roster pushes delivered (of expected)", "pushes", 0, 1.0),
        ("pushes already delivered when the answer came", "pushes_at_answer", 0, 1.0),
        ("first push after the call started, ms", "first_push_ms", 1, 1.0),
        ("last push after the call started, ms", "last_push_ms", 1, 1.0),
        ("presences available / unavailable after the call", None, 0, 1.0),
        ("roostd CPU during the call, s", "server_cpu_s_refresh_call", 2, 1.0),
        ("roostd CPU during the call, % of its wall time", "_server_cpu_pct", 0, 1.0),
        ("server core during the call: busy / softirq / steal, %", ("server_core_busy_pct_refresh_call", "server_core_softirq_pct_refresh_call", "server_core_steal_pct_refresh_call"), 0, 1.0),
        ("server core: other processes during the call, %", "_server_foreign", 0, 1.0),
        ("roster-refresh CPU during the call, % of its wall time", "_tool_cpu_pct", 0, 1.0),
        ("load core during the call: busy / softirq / steal, %", ("load_core_busy_pct_refresh_call", "load_core_softirq_pct_refresh_call", "load_core_steal_pct_refresh_call"), 0, 1.0),
        ("load core: other processes during the call, %", "_load_foreign", 0, 1.0),
        ("roostd RSS before the logins, MiB", "server_rss_kb_start", 1, 1 / 1024),
        ("roostd RSS with the users online, MiB", "server_rss_kb_online", 1, 1 / 1024),
        ("roostd RSS after the refresh, MiB", "server_rss_kb_end", 1, 1 / 1024),
        ("roostd peak RSS (VmHWM), MiB", "server_hwm_kb", 1, 1 / 1024),
        ("bringing the users online (login, roster get, presence), s", "login_s", 1, 1.0),
        ("calibration on the load core just before the call (fixed integer work), ms", "calibration_ms", 1, 1.0),
    ]
    for label, key, digits, scale in figures:
        if key is None:
            key = ("presences_available_after", "presences_unavailable_after")
        if isinstance(key, tuple):
            per = " · ".join(" / ".join(fmt(num(r, k), digits) for k in key) for r in rows)
            out.append(f"| {label} | | | {per} |")
            continue
        med, rng, per = spread(rows, key, digits, scale)
        if key == "pushes":
            per += f" (of {fmt(num(rows[0], 'pushes_expected'))})"
        out.append(f"| {label} | {med} | {rng} | {per} |")
    out.append("")

    out += ["## Checks per round", ""]
    all_ok = True
    any_disturbed = False
    for r in rows:
        bad = checks(r)
        note = ""
        why = disturbed(r)
        if why:
            any_disturbed = True
            note = f" (disturbed: {', '.join(why)})"
        for n in notes(r):
            note += f"; note: {n}"
        if bad:
            all_ok = False
            out.append(f"* round {r.get('round')}: **{'; '.join(bad)}**{note}")
        else:
            out.append(
                f"* round {r.get('round')}: correct: {fmt(users)} online with version 1, answer {fmt(users)} updated / 0 errors, "
                f"{fmt(num(r, 'backend_requests_refresh'))} backend requests (one per user), every client got its 3 pushes "
                f"and holds version 2{note}"
            )
    out += [
        "",
        "Per round, separated by `·`. Other processes = busy − softirq − the pinned process's CPU "
        "(CPU times in 10-ms ticks, so ±3 % on a 400-ms call).",
        "",
    ]
    times = [num(r, "refresh_ms") for r in rows if num(r, "refresh_ms") is not None]
    median = statistics.median(times) if times else None
    if median is None:
        verdict = "**FAIL** (no refresh time)"
    elif not all_ok:
        verdict = f"**FAIL** (median {median:,.1f} ms, but not every round was correct: see the checks)"
    elif median < TARGET_MS:
        verdict = f"PASS (median {median:,.1f} ms < {TARGET_MS:,.0f} ms; slowest round {max(times):,.1f} ms)"
    elif any_disturbed:
        verdict = f"INCONCLUSIVE (median {median:,.1f} ms ≥ {TARGET_MS:,.0f} ms with foreign load on the server core)"
    else:
        verdict = f"**FAIL** (median {median:,.1f} ms ≥ {TARGET_MS:,.0f} ms)"
    out += [f"Target: refresh of {fmt(users)} online users under 1 s: {verdict}", ""]
    errs = [(r.get("round"), r.get("first_login_errors"), r.get("first_sessions_ended")) for r in rows]
    errs = [e for e in errs if e[1] or e[2]]
    if errs:
        out += ["## Error texts", ""]
        for rnd, login, ended in errs:
            if login:
                out.append(f"* round {rnd}, logins: `{login[:600]}`")
            if ended:
                out.append(f"* round {rnd}, sessions ended: `{ended[:600]}`")
        out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
