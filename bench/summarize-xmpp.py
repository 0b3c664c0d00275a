#!/usr/bin/env python3
"""Summary of one bench/run-xmpp.sh run: XMPP login rate (STARTTLS, plaintext),
message throughput and idle-session memory, Prosody vs ejabberd vs Roost side by
side, with the bottleneck check and PASS/FAIL against Roost's targets (issue 3).

  bench/summarize-xmpp.py RESULTS_DIR     (reads raw.jsonl, setup/*.json, meta.txt)

Cells are median (min–max) over the rounds (records of the shared measure.py).
The shared tools/summarize.py long-format table is appended."""
import glob, json, os, statistics, subprocess, sys

rdir = sys.argv[1]
SHARED = os.environ.get("SHARED_BENCH", "/work/shared/bench")
SERVERS = [("Prosody", "prosody"), ("ejabberd", "ejabberd"), ("Roost", "roost")]
LABEL = dict((t, l) for l, t in SERVERS)
# Roost's targets (issue 3)
T_LOGIN_TLS, T_LOGIN_PLAIN, T_MSG, T_MSG_P99, T_IDLE_KIB, T_IDLE_N = 1000, 5000, 50000, 20.0, 24.0, 10000
SATURATED = 90.0     # % busy: a core at or above this is taken as saturated
DISTURBED = 10.0     # % of the server core used by something other than the server

recs = []
raw = os.path.join(rdir, "raw.jsonl")
if os.path.exists(raw):
    with open(raw) as f:
        recs = [json.loads(l) for l in f if l.strip()]

def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None

def spread(vals, d=0):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    f = f"{{:,.{d}f}}"
    m = f.format(statistics.median(vals))
    return m if len(vals) == 1 else f"{m} ({f.format(min(vals))}–{f.format(max(vals))})"

def sel(target, workload, variant):
    return [r for r in recs if r["target"] == target and r["workload"] == workload and str(r["variant"]) == str(variant)]

def ok(rs):
    return [r for r in rs if r.get("result")]

def errors(rs):
    """Load-generator errors summed over the rounds, plus records without a result."""
    n = sum(int((r["result"] or {}).get("errors") or 0) for r in ok(rs))
    return n, len(rs) - len(ok(rs))

def cpu(r):
    return r.get("cpu") or r.get("cpu_while_idle") or {}

def cores(r):
    return "cpu" + str(r.get("server_cpu_core", "0")), "cpu" + str(r.get("loadgen_cpu_core", "1"))

def other(r):
    c = cpu(r); sc, _ = cores(r)
    if c.get(f"{sc}_busy_pct") is None or c.get("server_cpu_pct") is None:
        return None
    return max(0.0, c[f"{sc}_busy_pct"] - c["server_cpu_pct"])

def res_vals(rs, key):
    return [(r["result"] or {}).get(key) for r in ok(rs)]

variants = {"login": ["tls", "plain"], "msg": ["tls", "plain"]}
idle_ns = sorted({int(r["variant"]) for r in recs if r["workload"] == "idle"})
present = [(l, t) for l, t in SERVERS if any(r["target"] == t for r in recs)]

meta = os.path.join(rdir, "meta.txt")
PHONE = os.path.exists(meta) and "\nPHONE=1" in open(meta).read()
out = ["# XMPP" + (" phone profile (issue 13: carbons, archive, stream management)" if PHONE else "")
       + ": Prosody 0.12 vs ejabberd 23.01 vs Roost, side by side\n"]
if os.path.exists(meta):
    out += ["```", open(meta).read().rstrip(), "```", ""]
out.append(
    "Cells: median (min–max) over the rounds; every round on freshly restarted servers, "
    "server on core 0, load generator (xmpp-loadgen, one thread) on core 1. "
    "**Login**: 50 in flight over 1000 accounts; connect, [STARTTLS, TLS 1.3], SCRAM-SHA-1, bind, "
    "presence, ping reply, close; logins/s over the measured window, latency connect→ping reply. "
    "**Messages**: 50 pairs of TLS sessions, 4 chat messages in flight per direction (400, closed loop), "
    "64-byte body; delivered msgs/s and delivery latency *at saturation*. "
    "**Idle**: N authenticated TLS sessions held; RSS per session = (RSS with sessions − RSS before) / "
    "sessions up, on a freshly started server. **errors**: the load generator's failed steps "
    "(failed logins, closed or stuck sessions), summed over the rounds; a figure with errors does "
    "not count towards a target.\n")

hdr = ["workload", "metric"] + [l for l, _ in present]
if any(t == "roost" for _, t in present):
    hdr += ["Roost target", "Roost"]
rows = []
verdicts = []

def bound_note(rs):
    """'load' if the load generator's core was saturated in any round (the figure is then
    a lower bound), 'disturbed' if foreign load sat on the server core."""
    notes = set()
    for r in ok(rs):
        c = cpu(r); _, lc = cores(r)
        if (c.get(f"{lc}_busy_pct") or 0) >= SATURATED:
            notes.add("load")
        o = other(r)
        if o is not None and o > DISTURBED:
            notes.add("disturbed")
    return notes

def verdict(value_ok, rs, extra=""):
    n_err, n_missing = errors(rs)
    if not ok(rs):
        return "– (not measured)"
    if n_missing:
        return f"**FAIL** ({n_missing} round(s) without a result)"
    if n_err:
        return f"**FAIL** ({n_err:,} load-generator errors)"
    notes = bound_note(rs)
    if value_ok:
        return "PASS" + extra
    if "load" in notes:
        return "not reached, **INCONCLUSIVE**: load generator core saturated (figure is a lower bound)"
    return "**FAIL**" + extra

def add_rate_rows(title, workload, variant, key, unit, target, lat_prefix, lat_target=None):
    if not any(sel(t, workload, variant) for _, t in present):
        return
    row = [title, unit]
    for _, t in present:
        row.append(spread(res_vals(sel(t, workload, variant), key)))
    lrow = ["↳", f"{lat_prefix} latency p50 / p99 ms"]
    for _, t in present:
        rs = sel(t, workload, variant)
        lrow.append(f"{spread(res_vals(rs, lat_prefix + '_p50_ms'), 1)} / {spread(res_vals(rs, lat_prefix + '_p99_ms'), 1)}")
    erow = ["↳", "load-generator errors (sum) / rounds"]
    for _, t in present:
        rs = sel(t, workload, variant)
        n_err, n_missing = errors(rs)
        erow.append(f"{n_err:,} / {len(ok(rs))}" + (f" (+{n_missing} without result)" if n_missing else "") if rs else "–")
    if "Roost" in hdr:
        rs = sel("roost", workload, variant)
        m = med(res_vals(rs, key))
        p99 = med(res_vals(rs, lat_prefix + "_p99_ms"))
        good = m is not None and m >= target and (lat_target is None or (p99 is not None and p99 < lat_target))
        tgt = f"≥ {target:,} {unit}" + (f", p99 < {lat_target:g} ms" if lat_target else "")
        v = verdict(good, rs)
        row += [tgt, v]
        lrow += ["", ""]; erow += ["", ""]
        verdicts.append((f"{title}: {tgt}", v, m, p99 if lat_target else None))
    rows.extend([row, lrow, erow])

add_rate_rows("Login, STARTTLS", "login", "tls", "logins_per_s", "logins/s", T_LOGIN_TLS, "login")
add_rate_rows("Login, plaintext", "login", "plain", "logins_per_s", "logins/s", T_LOGIN_PLAIN, "login")
add_rate_rows("Messages, TLS", "msg", "tls", "msgs_per_s", "msgs/s", T_MSG, "delivery", T_MSG_P99)
add_rate_rows("Messages, plaintext", "msg", "plain", "msgs_per_s", "msgs/s", T_MSG, "delivery", T_MSG_P99)
for n in idle_ns:
    title = f"Idle TLS sessions, {n:,}"
    row = [title, "RSS per session KiB"]
    r2 = ["↳", "server RSS before → with sessions MiB"]
    r3 = ["↳", "sessions up / wanted; errors (sum)"]
    r4 = ["↳", "server CPU % while idle"]
    for _, t in present:
        rs = sel(t, "idle", n)
        row.append(spread([r.get("rss_per_conn_kb") for r in rs], 1))
        r2.append(f"{spread([(r.get('rss_before_kb') or 0) / 1024 for r in rs])} → "
                  f"{spread([(r.get('rss_with_sessions_kb') or 0) / 1024 for r in rs])}" if rs else "–")
        n_err, n_missing = errors(rs)
        r3.append(f"{spread(res_vals(rs, 'up'))} / {n:,}; {n_err:,}" + (f" (+{n_missing} without result)" if n_missing else "") if rs else "–")
        r4.append(spread([cpu(r).get("server_cpu_pct") for r in rs], 1))
    if "Roost" in hdr:
        rs = sel("roost", "idle", n)
        m = med([r.get("rss_per_conn_kb") for r in rs])
        all_up = all((r["result"] or {}).get("up") == n for r in ok(rs))
        tgt = f"≤ {T_IDLE_KIB:g} KiB per session" + ("" if n == T_IDLE_N else f" (target is at {T_IDLE_N:,}; indicative)")
        v = verdict(m is not None and m <= T_IDLE_KIB and all_up, rs) if rs else "– (not measured)"
        if rs and not all_up and "FAIL" not in v:
            v = "**FAIL** (not all sessions up)"
        row += [tgt, v]; r2 += ["", ""]; r3 += ["", ""]; r4 += ["", ""]
        verdicts.append((f"{title}: {tgt}", v, m, None))
    rows.extend([row, r2, r3, r4])

out += ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
out += ["| " + " | ".join(r) + " |" for r in rows]
out.append("")

if verdicts:
    out.append("## Roost targets (issue 3)\n")
    for name, v, m, p99 in verdicts:
        fig = "" if m is None else f" — median {m:,.1f}" + ("" if p99 is None else f", p99 {p99:.1f} ms")
        out.append(f"* {name}: {v}{fig}")
    if not any(n == T_IDLE_N for n in idle_ns):
        out.append(f"* Idle TLS sessions, {T_IDLE_N:,}: ≤ {T_IDLE_KIB:g} KiB per session: – (not measured in this run)")
    out.append("")

# ---- bottleneck check -------------------------------------------------------------
out.append("## Bottleneck check\n")
out.append(f"Medians over the rounds. *other load on server core* = server core busy − server CPU: the kernel's "
           f"loopback/softirq work not charged to the server plus any foreign process (above ~{DISTURBED:g} % the round "
           f"was disturbed, e.g. by a compile). A server core at ≥ {SATURATED:g} % busy with the load core well below "
           f"that means the server is the bottleneck; a load core at ≥ {SATURATED:g} % means the load generator may be, "
           "and the figure is a lower bound; neither saturated means the server is waiting (latency, locks, I/O) at this "
           "concurrency. Idle rows: CPU while the sessions idle.\n")
bh = ["workload", "server", "server core busy %", "server CPU %", "other load on server core %",
      "server core softirq %", "server core iowait %", "load core busy %", "load generator CPU %", "reading"]
out += ["| " + " | ".join(bh) + " |", "|" + "---|" * len(bh)]
wl = [("login", "tls"), ("login", "plain"), ("msg", "tls"), ("msg", "plain")] + [("idle", n) for n in idle_ns]
for w, v in wl:
    for l, t in present:
        rs = ok(sel(t, w, v))
        if not rs:
            continue
        sc, lc = cores(rs[0])
        g = lambda k: med([cpu(r).get(k) for r in rs])
        sb, sp, lb, lp = g(f"{sc}_busy_pct"), g("server_cpu_pct"), g(f"{lc}_busy_pct"), g("loadgen_cpu_pct")
        oth = med([other(r) for r in rs])
        if w == "idle":
            reading = "idle"
        elif lb is not None and lb >= SATURATED:
            reading = "**load generator saturated** (lower bound)"
        elif sb is not None and sb >= SATURATED and (sp or 0) >= SATURATED - DISTURBED:
            reading = "server-bound"
        elif sb is not None and sb >= SATURATED:
            reading = "server core full, partly foreign/kernel load"
        else:
            reading = "neither core saturated"
        if oth is not None and oth > DISTURBED and w != "idle":
            reading += "; disturbed?"
        f = lambda x: "–" if x is None else f"{x:.0f}"
        out.append("| " + " | ".join([f"{w}-{v}", l, f(sb), f(sp), f(oth), f(g(f"{sc}_softirq_pct")),
                                      f(g(f"{sc}_iowait_pct")), f(lb), f(lp), reading]) + " |")
out.append("")

# ---- per round ----------------------------------------------------------------------
per = []
for r in recs:
    x = r.get("result") or {}
    c = cpu(r); sc, lc = cores(r)
    w = f"{r['workload']}-{r['variant']}"
    if r["workload"] == "login":
        fig, p50, p99 = x.get("logins_per_s"), x.get("login_p50_ms"), x.get("login_p99_ms")
    elif r["workload"] == "msg":
        fig, p50, p99 = x.get("msgs_per_s"), x.get("delivery_p50_ms"), x.get("delivery_p99_ms")
    else:
        fig, p50, p99 = r.get("rss_per_conn_kb"), x.get("login_p50_ms"), x.get("login_p99_ms")
    fmt = lambda v, d=0: "–" if v is None else f"{v:,.{d}f}"
    per.append((int(r["run"]), w, LABEL.get(r["target"], r["target"]), [
        str(r["run"]), w, LABEL.get(r["target"], r["target"]), r.get("time", ""),
        fmt(fig, 1 if r["workload"] == "idle" else 0), fmt(p50, 1), fmt(p99, 1),
        fmt(x.get("errors")) if r.get("result") else "no result", fmt(c.get("server_cpu_pct")),
        fmt(c.get(f"{sc}_busy_pct")), fmt(c.get("loadgen_cpu_pct")), fmt(c.get(f"{lc}_busy_pct"))]))
if per:
    out.append("## Per round\n")
    out.append("figure: logins/s, msgs/s, or RSS KiB per idle session; p50/p99: login or delivery latency "
               "(idle: setup login latency).\n")
    ph = ["round", "workload", "server", "time", "figure", "p50 ms", "p99 ms", "errors", "server CPU %",
          "server core busy %", "loadgen CPU %", "load core busy %"]
    out += ["| " + " | ".join(ph) + " |", "|" + "---|" * len(ph)]
    order = {l: i for i, (l, _) in enumerate(SERVERS)}
    for _, _, _, row in sorted(per, key=lambda p: (p[1].startswith("idle"), p[0], p[1], order.get(p[2], 9))):
        out.append("| " + " | ".join(row) + " |")
    out.append("")

# ---- errors -------------------------------------------------------------------------
bad = [r for r in recs if not r.get("result") or (r["result"].get("errors") or 0) > 0
       or r["result"].get("setup_complete") == "no" or r["result"].get("status")]
if bad:
    out.append("## Load-generator errors (exact texts, first three per record)\n")
    for r in bad:
        x = r.get("result")
        head = f"* {LABEL.get(r['target'], r['target'])} {r['workload']}-{r['variant']} round {r['run']}:"
        if not x:
            tail = (r.get("stderr_tail") or r.get("stdout_tail") or "").strip().replace("\n", " ⏎ ")
            out.append(f"{head} no JSON result (rc {r.get('rc')}): `{tail[-600:]}`")
        else:
            extra = "".join(f", {k} {x[k]}" for k in ("status", "setup_complete", "up", "completed", "delivered") if k in x)
            out.append(f"{head} {int(x.get('errors') or 0):,} errors{extra}: `{x.get('first_errors', '')}`")
    out.append("")

# ---- account setup ------------------------------------------------------------------
setup = []
for p in sorted(glob.glob(os.path.join(rdir, "setup", "*.json"))):
    name = os.path.basename(p)[:-5]
    try:
        j = json.loads(open(p).read().strip().splitlines()[-1])
    except (ValueError, IndexError):
        setup.append(f"* {name}: unreadable"); continue
    if name == "accounts-roost":
        c = j.get("created")
        setup.append(f"* Roost accounts (piped `roostctl shell`, {j.get('parallel')} sessions): "
                     + (f"{c:,} created" if c is not None else "**incomplete**")
                     + f" in {j.get('elapsed_s')} s" + (f" ({j.get('per_s')}/s; roostd CPU {j.get('server_cpu_s')} s = "
                     f"{j.get('server_cpu_ms_per_account')} ms per account)" if c else "")
                     + f", {j.get('existed', 0):,} existed, {j.get('failed')} failed"
                     + (f"; first errors: `{j.get('first_errors')}`" if j.get("first_errors") else ""))
    elif name.startswith("register-"):
        setup.append(f"* {LABEL.get(name[9:], name[9:])} accounts (XEP-0077 in-band registration, 16 in flight): "
                     f"{int(j.get('created', 0)):,} created, {int(j.get('already_existed', 0)):,} existed, "
                     f"{j.get('elapsed_s', 0):.0f} s, {int(j.get('errors') or 0)} errors"
                     + (f": `{j.get('first_errors')}`" if j.get("errors") else ""))
    elif name.startswith("prime-"):
        setup.append(f"* {LABEL.get(name[6:], name[6:])} SCRAM-cache priming pass: {int(j.get('completed') or 0):,} logins, "
                     f"{int(j.get('errors') or 0)} errors" + (f": `{j.get('first_errors')}`" if j.get("errors") else ""))
if setup:
    out.append("## Account setup (this run; accounts persist, so a later run creates none)\n")
    out += setup + [""]

# ---- phone profile (PHONE=1): evidence that the features were on --------------------
phone = os.path.join(rdir, "phone", "archive.txt")
if os.path.exists(phone):
    out.append("## Phone profile: were archive, carbons and stream management on? (phone/)\n")
    out.append("Archived messages counted before and after each server's turn "
               "(bench/phone/archive-count.sh), and bench/phone/check-features.py after it: three TLS "
               "sessions enable carbons, one also stream management; a <received/> and a <sent/> carbon, "
               "an answered <r/>, and both test messages in the archive (XEP-0313) must come back "
               "(the servers' answers: phone/check-*.json).\n")
    out += ["```", open(phone).read().rstrip(), "```", ""]

summ = os.path.join(SHARED, "tools", "summarize.py")
if recs and os.path.exists(summ):
    p = subprocess.run([sys.executable, summ, rdir], capture_output=True, text=True)
    out += ["## Long format (shared tools/summarize.py)\n", p.stdout.rstrip(), ""]
print("\n".join(out))
