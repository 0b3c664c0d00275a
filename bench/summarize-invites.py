#!/usr/bin/env python3
"""Summary of one bench/run-invites.sh run: invite creation over HTTP and admin CLI
wall time, Roost vs Prosody, side by side, as markdown.

  bench/summarize-invites.py RESULTS_DIR      (reads raw.jsonl, cli/*.json, meta.txt)

invites/s counts 201 answers only (201 count / wrk duration); cells are
median (min-max) over the runs. The shared tools/summarize.py long-format table
is appended for every other metric the records carry."""
import glob, json, os, statistics, subprocess, sys

rdir = sys.argv[1]
SHARED = os.environ.get("SHARED_BENCH", "/work/shared/bench")
# (label, target, workload) as recorded by the shared run-http.sh
SERVERS = [("Prosody", "prosody", "http-invites"), ("Roost", "roost", "http")]
DOMAIN = os.environ.get("DOMAIN", "bench.test")
CLI = {"Prosody": ("prosodyctl-invites-api-list", f"prosodyctl mod_invites_api list {DOMAIN}"),
       "Roost": ("roostctl-invites-api-list", f"roostctl --socket S invites-api list {DOMAIN}")}
TARGET_RPS, TARGET_CLI_MS = 10000, 5.0

recs = []
raw = os.path.join(rdir, "raw.jsonl")
if os.path.exists(raw):
    with open(raw) as f:
        recs = [json.loads(l) for l in f if l.strip()]

def spread(vals, d=0):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    f = f"{{:.{d}f}}"
    m = f.format(statistics.median(vals))
    return m if len(vals) == 1 else f"{m} ({f.format(min(vals))}–{f.format(max(vals))})"

def invites_per_s(res):
    return (res.get("codes") or {}).get("201", 0) / res["duration_s"] if res.get("duration_s") else None

def sock_errs(res):
    return sum(res.get(k, 0) or 0 for k in ("err_connect", "err_read", "err_write", "err_timeout"))

def cli_times(name):
    p = os.path.join(rdir, "cli", name + ".json")
    if not os.path.exists(p):
        return None
    return [t * 1000 for r in json.load(open(p))["results"] for t in r["times"]]

rows, per_run, verdict = [], [], {}
for label, target, workload in SERVERS:
    rs = [r for r in recs if r["target"] == target and r["workload"] == workload]
    ok = [r for r in rs if r.get("result")]
    failed = len(rs) - len(ok)
    res = [r["result"] for r in ok]
    codes = {}
    for x in res:
        for c, n in (x.get("codes") or {}).items():
            codes[c] = codes.get(c, 0) + n
    errs = sum(sock_errs(x) for x in res)
    all201 = bool(res) and set(codes) == {"201"} and errs == 0 and failed == 0
    ips = [invites_per_s(x) for x in res]
    sc = lambda r, k: r["cpu"].get(k)
    srv_core = "cpu" + (ok[0].get("server_cpu_core", "0") if ok else "0")
    gen_core = "cpu" + (ok[0].get("loadgen_cpu_core", "1") if ok else "1")
    other = lambda r: (None if sc(r, f"{srv_core}_busy_pct") is None
                       else max(0.0, sc(r, f"{srv_core}_busy_pct") - sc(r, "server_cpu_pct")))
    cli_name, cli_cmd = CLI[label]
    ct = cli_times(cli_name)
    if not rs and ct is None:
        continue
    rows.append([label, f"{len(res)}" + (f" (+{failed} failed)" if failed else ""),
                 spread(ips), spread([x.get("p50_ms") for x in res], 2), spread([x.get("p99_ms") for x in res], 2),
                 ", ".join(f"{c}: {n}" for c, n in sorted(codes.items())) or "–",
                 str(errs) if res else "–", ("yes" if all201 else "**NO**") if res else "–",
                 spread([sc(r, "server_cpu_pct") for r in ok]),
                 spread([sc(r, f"{srv_core}_busy_pct") for r in ok]),
                 spread([other(r) for r in ok]),
                 spread(ct, 1) + (f" (n={len(ct)})" if ct else "") if ct else "–"])
    for r in ok:
        x = r["result"]
        per_run.append([label, str(r["run"]), r["time"], f"{invites_per_s(x):.0f}", f"{x.get('p50_ms', 0):.2f}",
                        f"{x.get('p99_ms', 0):.2f}", ", ".join(f"{c}: {n}" for c, n in sorted((x.get('codes') or {}).items())),
                        str(sock_errs(x)), f"{sc(r, 'server_cpu_pct')}", f"{sc(r, srv_core + '_busy_pct')}",
                        f"{other(r):.1f}", f"{sc(r, srv_core + '_softirq_pct')}", f"{sc(r, srv_core + '_iowait_pct')}",
                        f"{sc(r, 'loadgen_cpu_pct')}", f"{sc(r, gen_core + '_busy_pct')}"])
    if label == "Roost":
        med = statistics.median([v for v in ips if v is not None]) if res else None
        cm = statistics.median(ct) if ct else None
        verdict["http"] = (None if med is None else (med >= TARGET_RPS and all201), med, all201)
        verdict["cli"] = (None if cm is None else cm <= TARGET_CLI_MS, cm)

out = []
meta = os.path.join(rdir, "meta.txt")
out.append("# Invite API and admin CLI: Roost vs Prosody, side by side\n")
if os.path.exists(meta):
    out += ["```", open(meta).read().rstrip(), "```", ""]
out.append("Cells: median (min–max) over the rounds. invites/s = 201 answers / wrk duration "
           "(`wrk -t1 -c32 --timeout 10s`, GET `/invites_api` (Prosody: `?bench=1`), `Authorization: Bearer KEY`, "
           "server on core 0, wrk on core 1, fresh server and empty invite store each round). "
           "*Other load on server core* = server core busy % − server process CPU %: it holds the kernel's "
           "softirq network work not charged to the server (a few %) plus any foreign process; more than "
           "~10 % means the round was disturbed (e.g. a compile) and should be repeated. CLI: hyperfine wall time of one "
           "call, 2 warm-up + 10 runs, pinned to core 1.\n")
hdr = ["server", "rounds", "invites/s", "p50 ms", "p99 ms", "status codes (sum)", "socket errors",
       "all 201", "server CPU %", "server core busy %", "other load on server core %", "CLI list call, median ms (min–max)"]
out += ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
out += ["| " + " | ".join(r) + " |" for r in rows]
out.append("")
out.append("CLI commands: " + "; ".join(f"{l}: `{CLI[l][1]}`" for l, _, _ in SERVERS) + "\n")
if verdict:
    h, c = verdict.get("http"), verdict.get("cli")
    def mark(v): return "–" if v is None else ("PASS" if v else "**FAIL**")
    out.append("Roost targets (issue 2):\n")
    if h:
        out.append(f"* ≥ {TARGET_RPS:,} invites/s with every answer a 201: {mark(h[0])}"
                   + ("" if h[1] is None else f" (median {h[1]:.0f}/s, all 201: {'yes' if h[2] else 'no'})"))
    if c:
        out.append(f"* ≤ {TARGET_CLI_MS:g} ms per `roostctl` call: {mark(c[0])}"
                   + ("" if c[1] is None else f" (median {c[1]:.1f} ms)"))
    out.append("")
if per_run:
    out.append("## Per round\n")
    ph = ["server", "round", "time", "invites/s", "p50 ms", "p99 ms", "codes", "socket errors",
          "server CPU %", "server core busy %", "other load on server core %", "server core softirq %",
          "server core iowait %", "wrk CPU %", "wrk core busy %"]
    out += ["| " + " | ".join(ph) + " |", "|" + "---|" * len(ph)]
    out += ["| " + " | ".join(r) + " |" for r in sorted(per_run, key=lambda r: (int(r[1]), r[0] != "Prosody"))]
    out.append("")
store = os.path.join(rdir, "invite-store.jsonl")
if os.path.exists(store):
    out.append("Prosody invite store after each round: " + "; ".join(
        f"round {j['run']}: {j['invites_in_store_after_run']} invites, {j['store_bytes']} bytes"
        for j in map(json.loads, filter(str.strip, open(store)))) + "\n")
summ = os.path.join(SHARED, "tools", "summarize.py")
if recs and os.path.exists(summ):
    p = subprocess.run([sys.executable, summ, rdir], capture_output=True, text=True)
    out += ["## Long format (shared tools/summarize.py)\n", p.stdout.rstrip(), ""]
print("\n".join(out))
