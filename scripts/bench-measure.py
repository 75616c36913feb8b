#!/usr/bin/env python3
"""scripts/bench-measure.py — the measuring half of scripts/bench.sh (which sets everything up).

Subcommands (all output on stdout; every loop bounded in count and in time):

  compare   scrape pgstack_exporter and the peer alternately, sequentially and with N
            concurrent scrapers, and print one table with the ratio pgstack / peer
  bouncer   scrape pgstack_exporter's PgBouncer target and time the raw SHOW queries it runs
  soak      SCRAPES scrapes as fast as one client goes, RSS every 1,000

Processes are named by PID; /proc gives CPU (utime+stime) and RSS. Database connections
opened are read from the server's own counter, sum(pg_stat_database.sessions), through
`psql` over the test bed's Unix socket (each read is itself one session: subtracted). What a
scrape costs the database is the CPU of the server processes (backends) serving each exporter,
found in pg_stat_activity (ours by its application_name, the peer as the other sessions of the
monitoring role) and read from /proc like the exporters'.
"""

import argparse
import re
import statistics
import sys
import threading
import time

from bench_common import cpu_seconds, fmt, memory_mib, new_conn, percentile, ratio, rss_mib, scrape, scrape_once
from pgstack_scripts import output, run



# ----------------------------------------------------------------------------------------------
# HTTP


def run_sequential(port, path, count, deadline):
    conn = new_conn(port)
    latencies = []
    try:
        for _ in range(count):
            if time.monotonic() > deadline:
                break
            seconds, status, _ = scrape(conn, path)
            if status != 200:
                raise SystemExit(f"bench: GET {path} on :{port} answered {status}")
            latencies.append(seconds)
    finally:
        conn.close()
    return latencies


def run_concurrent(port, path, scrapers, each, deadline):
    latencies, errors, lock = [], [], threading.Lock()

    def worker():
        conn = new_conn(port)
        try:
            for _ in range(each):
                if time.monotonic() > deadline:
                    break
                seconds, status, _ = scrape(conn, path)
                with lock:
                    (latencies if status == 200 else errors).append(seconds if status == 200 else status)
        except Exception as e:  # noqa: BLE001 — reported, not hidden
            with lock:
                errors.append(repr(e))
        finally:
            conn.close()

    workers = [threading.Thread(target=worker) for _ in range(scrapers)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=max(1.0, deadline - time.monotonic() + 60))
    if errors:
        print(f"bench: {len(errors)} failed scrapes on :{port}: {errors[:3]}", file=sys.stderr)
    return latencies


# ----------------------------------------------------------------------------------------------
# PostgreSQL counters


def sessions(psql):
    """sum(pg_stat_database.sessions) on the primary; `psql` is the argv prefix."""
    return int(output(psql + ["-Atc", "SELECT sum(sessions) FROM pg_stat_database"], timeout=30) or 0)


def backend_pids(psql, ours):
    """PIDs of the server processes serving pgstack_exporter (`ours`) or the peer."""
    who = ("application_name = 'pgstack_exporter'" if ours
           else "application_name <> 'pgstack_exporter' AND usename = 'pgstack_monitor'")
    out = output(psql + ["-Atc", f"SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND {who}"],
                 timeout=30)
    return [int(line) for line in out.split()]


def backends_cpu(pids):
    """CPU seconds of those of `pids` still running, by PID."""
    result = {}
    for pid in pids:
        try:
            result[pid] = cpu_seconds(pid)
        except OSError:
            pass
    return result


# ----------------------------------------------------------------------------------------------
# compare


class Subject:
    def __init__(self, name, pid, port, path):
        self.name, self.pid, self.port, self.path = name, pid, port, path
        self.seq, self.conc = [], []
        self.cpu = 0.0
        self.server_cpu = 0.0
        self.scrapes = 0
        self.sessions = 0
        self.rss_before = rss_mib(pid)
        self.rss_after = self.pss_after = self.anonymous_after = float("nan")
        self.bytes = 0
        self.samples = 0


def measure_batch(subject, psql, fn):
    """Runs fn() (a batch of scrapes) and charges its CPU, its server processes' CPU and new
    sessions to `subject`."""
    sessions_before = sessions(psql)
    server_before = backends_cpu(backend_pids(psql, subject.name == "pgstack"))
    cpu_before = cpu_seconds(subject.pid)
    latencies = fn()
    subject.cpu += cpu_seconds(subject.pid) - cpu_before
    server_after = backends_cpu(server_before)
    subject.server_cpu += sum(server_after[pid] - server_before[pid] for pid in server_after)
    subject.scrapes += len(latencies)
    # Ended sessions are flushed to the counters at backend exit; give them a moment.
    time.sleep(0.3)
    # The `psql` runs that read `sessions_before` and the backends' PIDs are sessions themselves.
    subject.sessions += max(0, sessions(psql) - sessions_before - 2)
    return latencies


def cmd_compare(args):
    psql = args.psql.split()
    ours = Subject("pgstack", args.ours_pid, args.ours_port, args.ours_path)
    peer = Subject("peer", args.peer_pid, args.peer_port, "/metrics")
    deadline = time.monotonic() + args.max_seconds

    for s in (ours, peer):  # one warm-up scrape each: connections, caches, first-use costs
        _, _, body = scrape_once(s.port, s.path)
        s.bytes = len(body)
        s.samples = sum(1 for line in body.decode("utf-8", "replace").splitlines()
                        if line and not line.startswith("#"))

    for _ in range(args.rounds):  # alternate: ours, peer, ours, peer…
        for s in (ours, peer):
            s.seq += measure_batch(s, psql, lambda s=s: run_sequential(s.port, s.path, args.sequential, deadline))
        for s in (ours, peer):
            s.conc += measure_batch(s, psql, lambda s=s: run_concurrent(
                s.port, s.path, args.concurrency, args.each, deadline))
    for s in (ours, peer):
        s.rss_after, s.pss_after, s.anonymous_after = memory_mib(s.pid)

    rows = [
        ("scrape median, sequential (ms)", lambda s: statistics.median(s.seq) if s.seq else float("nan"), "ms"),
        ("scrape p90, sequential (ms)", lambda s: percentile(s.seq, 90), "ms"),
        ("scrape p99, sequential (ms)", lambda s: percentile(s.seq, 99), "ms"),
        (f"scrape median, {args.concurrency} concurrent (ms)",
         lambda s: statistics.median(s.conc) if s.conc else float("nan"), "ms"),
        (f"scrape p90, {args.concurrency} concurrent (ms)", lambda s: percentile(s.conc, 90), "ms"),
        (f"scrape p99, {args.concurrency} concurrent (ms)", lambda s: percentile(s.conc, 99), "ms"),
        ("CPU per scrape (ms, user+sys)", lambda s: s.cpu / max(1, s.scrapes), "cpu"),
        ("DB server CPU per scrape (ms)", lambda s: s.server_cpu / max(1, s.scrapes), "cpu"),
        ("RSS before (MiB)", lambda s: s.rss_before, "MiB"),
        ("RSS after (MiB)", lambda s: s.rss_after, "MiB"),
        ("PSS after (MiB)", lambda s: s.pss_after, "MiB"),
        ("anonymous after (MiB)", lambda s: s.anonymous_after, "MiB"),
        ("response bytes", lambda s: s.bytes, "n"),
        ("samples", lambda s: s.samples, "n"),
        ("DB connections opened per scrape", lambda s: s.sessions / max(1, s.scrapes), "conn"),
    ]
    print(f"PostgreSQL primary: {len(ours.seq)}+{len(ours.conc)} scrapes of pgstack_exporter, "
          f"{len(peer.seq)}+{len(peer.conc)} of the peer (sequential+concurrent), "
          f"alternating in {args.rounds} rounds")
    print(f"{'figure':<38} {'pgstack':>10} {'peer':>10} {'ratio':>7}")
    values = {}
    for label, get, unit in rows:
        a, b = get(ours), get(peer)
        values[label] = (a, b)
        print(f"{label:<38} {fmt(a, unit):>10} {fmt(b, unit):>10} {ratio(a, b):>7}")

    # The targets, checked (printed, never failing the run: timings are noisy here).
    def check(name, ok):
        print(f"  target {'met' if ok else 'NOT met'}: {name}")
    seq_med = values["scrape median, sequential (ms)"]
    conc_p99 = values[f"scrape p99, {args.concurrency} concurrent (ms)"]
    cpu = values["CPU per scrape (ms, user+sys)"]
    print("targets:")
    check("scrape median ≤ 1/3 of the peer's", seq_med[0] * 3 <= seq_med[1])
    check(f"p99 at {args.concurrency} concurrent ≤ 1/10 of the peer's", conc_p99[0] * 10 <= conc_p99[1])
    check("CPU per scrape ≤ 1/3 of the peer's", cpu[0] * 3 <= cpu[1])
    check("RSS at or below the peer's", ours.rss_after <= peer.rss_after)
    check("no new DB connection per scrape", ours.sessions == 0)


# ----------------------------------------------------------------------------------------------
# bouncer


def cmd_bouncer(args):
    deadline = time.monotonic() + args.max_seconds
    _, _, body = scrape_once(args.ours_port, args.ours_path)
    cpu_before = cpu_seconds(args.ours_pid)
    latencies = run_sequential(args.ours_port, args.ours_path, args.sequential, deadline)
    cpu = (cpu_seconds(args.ours_pid) - cpu_before) / max(1, len(latencies))
    samples = sum(1 for line in body.decode("utf-8", "replace").splitlines() if line and not line.startswith("#"))

    # The raw console queries our PgBouncer collectors run, over one psql session, timed by psql.
    shows = ["SHOW VERSION;", "SHOW POOLS;", "SHOW STATS_TOTALS;", "SHOW DATABASES;", "SHOW LISTS;", "SHOW CONFIG;"]
    script = "\\timing on\n" + "".join(shows * args.sequential)
    out = run(args.psql.split(), input=script, check=False, timeout=120)
    times = [float(m) / 1000 for m in re.findall(r"^Time: ([0-9.]+) ms", out.stdout, re.M)]
    per_round = [sum(times[i:i + len(shows)]) for i in range(0, len(times) - len(shows) + 1, len(shows))]
    print(f"PgBouncer: {len(latencies)} scrapes of pgstack_exporter's pgbouncer target; "
          f"{len(per_round)} rounds of the {len(shows)} raw SHOW queries in one psql session")
    print(f"{'figure':<38} {'pgstack':>10} {'raw SHOW':>10} {'ratio':>7}")
    for label, a, b in [
        ("median (ms)", statistics.median(latencies) if latencies else float("nan"),
         statistics.median(per_round) if per_round else float("nan")),
        ("p90 (ms)", percentile(latencies, 90), percentile(per_round, 90)),
        ("p99 (ms)", percentile(latencies, 99), percentile(per_round, 99)),
    ]:
        print(f"{label:<38} {fmt(a, 'ms'):>10} {fmt(b, 'ms'):>10} {ratio(a, b):>7}")
    print(f"{'CPU per scrape (ms, user+sys)':<38} {fmt(cpu, 'cpu'):>10} {'-':>10}")
    print(f"{'response bytes / samples':<38} {len(body):>10} {samples:>10}")
    if out.returncode != 0:
        print(f"bench: psql on the console failed: {out.stderr.strip()[:300]}", file=sys.stderr)


# ----------------------------------------------------------------------------------------------
# soak


def cmd_soak(args):
    deadline = time.monotonic() + args.max_seconds
    subjects = [("pgstack", args.ours_pid, args.ours_port, args.ours_path)]
    if args.peer_pid:
        subjects.append(("peer", args.peer_pid, args.peer_port, "/metrics"))
    report = {name: [rss_mib(pid)] for name, pid, _, _ in subjects}
    done = {name: 0 for name, _, _, _ in subjects}
    busy = {}  # RSS, PSS, anonymous right after each one's last block
    block = 1000
    for _ in range(args.scrapes // block):
        for name, pid, port, path in subjects:  # alternate blocks of 1,000
            done[name] += len(run_sequential(port, path, block, deadline))
            busy[name] = memory_mib(pid)
            report[name].append(busy[name][0])
            print(f"  soak {name}: {done[name]} scrapes, RSS {report[name][-1]:.1f} MiB", file=sys.stderr, flush=True)
        if time.monotonic() > deadline:
            print(f"bench: soak stopped at its time limit ({args.max_seconds} s)", file=sys.stderr)
            break
    # Then both left alone as long as a sidecar is between scrapes and longer than the
    # exporter's minute between trims (ResidentMemory), so that neither is caught mid-way.
    time.sleep(args.settle)
    settled = {name: memory_mib(pid) for name, pid, _, _ in subjects}
    for name, _, _, _ in subjects:
        values = report[name]
        print(f"soak {name}: {done[name]} scrapes; RSS MiB at 0, 1000, 2000…: "
              + " ".join(f"{v:.1f}" for v in values))
        if len(values) >= 3:
            # Warm-up: the first 1,000 scrapes.
            growth = max(values[1:]) - values[1]
            print(f"  growth after warm-up (max − RSS at 1,000): {growth:.2f} MiB → "
                  f"{'flat (target met)' if growth < 1 else 'NOT flat (target: < 1 MiB)'}")
        for when, memory in (("right after its last scrape", busy), (f"{args.settle:.0f} s later", settled)):
            rss, pss, anonymous = memory[name]
            print(f"  {when}: RSS {rss:.1f} MiB, PSS {pss:.1f} MiB, anonymous {anonymous:.1f} MiB")
    if "peer" in settled:
        for when, memory in (("right after the last scrape", busy), (f"{args.settle:.0f} s later", settled)):
            ours, peer = memory["pgstack"], memory["peer"]
            for index, label in enumerate(("RSS", "PSS", "anonymous")):
                verdict = "at or below the peer's (target met)" if ours[index] <= peer[index] else "above the peer's"
                print(f"  {label} {when}: ours {ours[index]:.1f} MiB, peer {peer[index]:.1f} MiB ({ratio(ours[index], peer[index])}) → {verdict}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--ours-pid", type=int, required=True)
        p.add_argument("--ours-port", type=int, required=True)
        p.add_argument("--ours-path", default="/metrics")
        p.add_argument("--psql", required=True, help="psql argv prefix reaching the primary (or console)")
        p.add_argument("--max-seconds", type=float, default=600)

    p = sub.add_parser("compare")
    common(p)
    p.add_argument("--peer-pid", type=int, required=True)
    p.add_argument("--peer-port", type=int, required=True)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--sequential", type=int, default=40, help="scrapes per sequential batch")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--each", type=int, default=5, help="scrapes per concurrent scraper per batch")
    p.set_defaults(fn=cmd_compare)

    p = sub.add_parser("bouncer")
    common(p)
    p.add_argument("--sequential", type=int, default=100)
    p.set_defaults(fn=cmd_bouncer)

    p = sub.add_parser("soak")
    p.add_argument("--settle", type=float, default=65, help="seconds both are left alone before the last reading")
    common(p)
    p.add_argument("--peer-pid", type=int, default=0)
    p.add_argument("--peer-port", type=int, default=0)
    p.add_argument("--scrapes", type=int, default=10000)
    p.set_defaults(fn=cmd_soak)


    args = parser.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
