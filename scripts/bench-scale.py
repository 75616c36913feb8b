#!/usr/bin/env python3
"""scripts/bench-scale.py — the scale run of scripts/bench.sh --scale N (which sets up the bed
and starts two exporters: one with a single target of each kind, one with all N).

1. Reference: the single-target exporter probed sequentially, PROBES times per kind (primary,
   replica, PgBouncer console): its CPU per probe of each kind, and their mean weighted by the
   mix of the scale run — what "the cost of one" is for that mix.
2. Scale: every target of the N-target exporter probed once per CYCLE seconds, the probes spread
   evenly over the cycle, for CYCLES cycles. The first cycles open the connections; the steady
   state is the cycles after the first one in which every target answered. Printed per cycle and
   for the steady state: probes answered, latency median and p99, CPU per probe against the reference, CPU % of one core, the largest RSS / PSS /
   anonymous memory, threads and descriptors seen, connections held per server, and where a
   probe's time goes (the exporter's own collection time against the latency seen by the client).

The driver runs beside the exporter on the same cores: its own CPU is printed too.
"""

import argparse
import collections
import concurrent.futures
import statistics
import subprocess
import sys
import threading
import time

from bench_common import cpu_ns, cpu_seconds, memory_mib, new_conn, open_fds, percentile, scrape, threads

KINDS = ("primary", "replica", "pgbouncer")
PREFIX = {"primary": "p", "replica": "r", "pgbouncer": "b"}
def target_name(kind, index):
    return f"{PREFIX[kind]}{index:04d}"


def first_value(body, *names):
    """The value of the first sample of the first of `names` (metric names) found in a probe's
    body, or None."""
    for name in names:
        start = body.find(b"\n" + name + b"{")
        if start >= 0:
            return float(body[start:body.find(b"\n", start + 1)].rsplit(b" ", 1)[1])
    return None


def target_answered(body):
    """Whether a probe's body says the target answered (`pg_up` or `pgbouncer_up` 1): a probe
    of a target that cannot be reached is an HTTP 200 too."""
    return first_value(body, b"pg_up", b"pgbouncer_up") == 1


def collection_seconds(body):
    """The exporter's own `pgstack_exporter_scrape_duration_seconds` in a probe's body."""
    value = first_value(body, b"pgstack_exporter_scrape_duration_seconds")
    return float("nan") if value is None else value


class Worker(threading.local):
    """Kept-alive HTTP connections (one per exporter) per driver thread, as Prometheus keeps
    one per target."""

    def __init__(self):
        self.conns = {}


def reference(args):
    """CPU seconds per probe of each kind on the single-target exporter."""
    per_kind = {}
    for kind in KINDS:
        conn = new_conn(args.single_port)
        path = f"/probe?target={target_name(kind, 0)}"
        for _ in range(5):  # connect and warm up
            scrape(conn, path)
        before = cpu_seconds(args.single_pid)
        for _ in range(args.reference_probes):
            _, status, body = scrape(conn, path)
            if status != 200 or not target_answered(body):
                raise SystemExit(f"bench --scale: reference probe of {kind} answered {status}, target answered: {target_answered(body)}")
        per_kind[kind] = (cpu_seconds(args.single_pid) - before) / args.reference_probes
        conn.close()
    return per_kind


class Samples:
    """The largest memory, threads and descriptors of the exporter, read every second."""

    def __init__(self, pid):
        self.pid, self.rss, self.pss, self.anonymous, self.threads, self.fds = pid, 0.0, 0.0, 0.0, 0, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.wait(1.0):
            rss, pss, anonymous = memory_mib(self.pid)
            self.rss, self.pss, self.anonymous = max(self.rss, rss), max(self.pss, pss), max(self.anonymous, anonymous)
            self.threads = max(self.threads, threads(self.pid))
            self.fds = max(self.fds, open_fds(self.pid))

    def finish(self):
        self.stop.set()
        self.thread.join()


def connections_held(pid, ports):
    """Established TCP connections of process `pid` to each of `ports` (from `ss`)."""
    out = subprocess.run(["ss", "-Htnp", "state", "established"], capture_output=True, text=True, timeout=30).stdout
    held = {port: 0 for port in ports}
    for line in out.splitlines():
        if f"pid={pid}," not in line:
            continue
        peer = line.split()[3].rsplit(":", 1)[-1]
        for port in ports:
            if peer == str(port):
                held[port] += 1
    return held


def run_scale(args, mix):
    # Each kind spread evenly over the whole cycle, as Prometheus spreads its targets (a
    # target's place in its kind's list is its place in the cycle): listing them index by index
    # put all 1,000 PostgreSQL probes of the 5,000-target mix in the first 30 % of each cycle.
    order = sorted(((kind, index) for kind in KINDS for index in range(mix[kind])),
                   key=lambda probe: ((probe[1] + 0.5) / mix[probe[0]], KINDS.index(probe[0])))
    results, lock = [], threading.Lock()  # (cycle, kind, latency, status, collection seconds)
    single = []  # the same, of the single-target exporter probed at the same cadence
    worker = Worker()

    def probe(cycle, kind, index, port=args.ours_port, into=results):
        if port not in worker.conns:
            worker.conns[port] = new_conn(port)
        try:
            seconds, status, body = scrape(worker.conns[port], f"/probe?target={target_name(kind, index)}")
            if status == 200 and not target_answered(body):
                status = "target down"
            collected = collection_seconds(body) if status == 200 else float("nan")
        except Exception as error:  # noqa: BLE001 — counted as a failure and printed
            worker.conns.pop(port).close()
            seconds, status, collected = float("nan"), repr(error), float("nan")
        with lock:
            into.append((cycle, kind, seconds, status, collected))

    samples = Samples(args.ours_pid)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.workers)
    interval = args.cycle / len(order)
    start = time.monotonic()
    # At each cycle's end: ours, the driver's and the single-target exporter's CPU.
    mark = lambda: (cpu_seconds(args.ours_pid), time.process_time(), cpu_ns(args.single_pid) / 1e9)  # noqa: E731
    marks = [mark()]
    single_at = {len(order) * k // len(KINDS): kind for k, kind in enumerate(KINDS)}
    for cycle in range(args.cycles):
        for i, (kind, index) in enumerate(order):
            due = start + cycle * args.cycle + i * interval
            time.sleep(max(0.0, due - time.monotonic()))
            pool.submit(probe, cycle, kind, index)
            if i in single_at:
                pool.submit(probe, cycle, single_at[i], 0, args.single_port, single)
        time.sleep(max(0.0, start + (cycle + 1) * args.cycle - time.monotonic()))
        marks.append(mark())
    pool.shutdown(wait=True)
    samples.finish()
    return results, single, samples, marks


def ms(seconds):
    return "-" if seconds != seconds else f"{seconds * 1000:.1f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ours-pid", type=int, required=True)
    parser.add_argument("--ours-port", type=int, required=True)
    parser.add_argument("--single-pid", type=int, required=True)
    parser.add_argument("--single-port", type=int, required=True)
    for kind in KINDS:
        parser.add_argument(f"--{kind}", type=int, required=True, help=f"{kind} targets (named {PREFIX[kind]}0000…)")
    parser.add_argument("--ports", type=int, nargs=3, required=True, help="the primary's, replica's and PgBouncer's")
    parser.add_argument("--cycle", type=float, default=15)
    parser.add_argument("--cycles", type=int, default=6)
    parser.add_argument("--workers", type=int, default=256)
    parser.add_argument("--reference-probes", type=int, default=200)
    args = parser.parse_args()
    mix = {kind: getattr(args, kind) for kind in KINDS}
    total = sum(mix.values())
    if args.cycles < 2 or total < 1:
        raise SystemExit("bench --scale: needs at least one target and two cycles")

    per_kind = reference(args)
    weighted = sum(per_kind[kind] * mix[kind] for kind in KINDS) / total
    print("scale: reference (one target of each kind, sequential): CPU per probe "
          + ", ".join(f"{kind} {per_kind[kind] * 1000:.2f} ms" for kind in KINDS)
          + f"; weighted by this mix {weighted * 1000:.2f} ms")

    results, single_results, samples, marks = run_scale(args, mix)
    ok = [r for r in results if r[3] == 200]
    failed = [r for r in results if r[3] != 200]  # HTTP status, "target down" or the driver's error
    if len(results) != total * args.cycles:
        print(f"bench --scale: {total * args.cycles - len(results)} probes never finished", file=sys.stderr)
    print(f"scale: {total} targets ({', '.join(f'{mix[k]} {k}' for k in KINDS)}) × {args.cycles} cycles of "
          f"{args.cycle:g} s: {len(ok)} probes ok, {len(failed)} failed {[(r[1], r[3]) for r in failed[:3]]}")
    # Steady state: the cycles after the first one in which every target answered (all connected).
    clean = None
    for cycle in range(args.cycles):
        answered = [r[2] for r in ok if r[0] == cycle]
        cpu = (marks[cycle + 1][0] - marks[cycle][0]) / total
        print(f"  cycle {cycle + 1}: {len(answered)} ok, {total - len(answered)} failed, median "
              f"{ms(statistics.median(answered) if answered else float('nan'))} ms, p99 {ms(percentile(answered, 99))} ms, "
              f"CPU per probe {cpu * 1000:.2f} ms")
        causes = collections.Counter(f"{r[1]} {r[3]}" for r in failed if r[0] == cycle)
        if causes:
            print("    failed: " + ", ".join(f"{count} {cause}" for cause, count in causes.most_common(4)))
        if clean is None and len(answered) == total:
            clean = cycle
    held = connections_held(args.ours_pid, args.ports)
    print(f"  largest RSS {samples.rss:.1f} MiB (PSS {samples.pss:.1f}, anonymous {samples.anonymous:.1f}), "
          f"{samples.rss / total * 1024:.0f} KiB per target; threads up to {samples.threads}, descriptors up to {samples.fds}; "
          "connections held: " + ", ".join(f"{kind} {held[port]}" for kind, port in zip(KINDS, args.ports)))
    steady_cycles = range(clean + 1, args.cycles) if clean is not None else range(0)
    if not steady_cycles:
        print("  no steady state: no cycle in which every target answered was followed by another; run more cycles "
              "(PGSTACK_SCALE_CYCLES)")
        return
    steady = [r[2] for r in ok if r[0] in steady_cycles]
    first, last = steady_cycles[0], steady_cycles[-1] + 1
    seconds = (last - first) * args.cycle
    cpu_per_probe = (marks[last][0] - marks[first][0]) / (total * len(steady_cycles))
    p99 = percentile(steady, 99)
    print(f"  steady state (cycles {first + 1}–{last}, after every target had answered): {len(steady)} of "
          f"{total * len(steady_cycles)} ok, median {ms(statistics.median(steady))} ms, p99 {ms(p99)} ms → "
          f"{'within 250 ms (target met)' if p99 <= 0.25 else 'over 250 ms (target NOT met)'}")
    print(f"  CPU per probe, steady state: {cpu_per_probe * 1000:.2f} ms against {weighted * 1000:.2f} ms for one target "
          f"probed in a row ({cpu_per_probe / weighted:.2f}×) → "
          f"{'no higher than one target' if cpu_per_probe <= weighted else 'higher than one target'}; "
          f"{100 * (marks[last][0] - marks[first][0]) / seconds:.1f} % of one core")
    # One target at the same cadence pays its slow-changing refreshes (sizes, checks: once a
    # minute) over four probes a minute, not over 200 in a row.
    answered = sum(1 for r in single_results if r[0] in steady_cycles and r[3] == 200)
    if answered:
        at_cadence = (marks[last][2] - marks[first][2]) / answered
        in_a_row = sum(per_kind.values()) / len(KINDS)
        like_one = weighted * at_cadence / in_a_row
        print(f"  one target of each kind probed once a cycle beside them: {at_cadence * 1000:.2f} ms per probe "
              f"({at_cadence / in_a_row:.2f}× in a row); for this mix ≈ {like_one * 1000:.2f} ms → at scale "
              f"{cpu_per_probe / like_one:.2f}× the cost of one at the same cadence")
    for kind in KINDS:
        rows = [r for r in ok if r[0] in steady_cycles and r[1] == kind]
        if not rows:
            continue
        latency = statistics.median(r[2] for r in rows)
        collected = statistics.median(r[4] for r in rows if r[4] == r[4]) if any(r[4] == r[4] for r in rows) else float("nan")
        print(f"  where a {kind} probe's time goes (steady medians): {ms(latency)} ms seen by the client, "
              f"{ms(collected)} ms collecting (the exporter's scrape_duration), {ms(latency - collected)} ms "
              "waiting, encoding and on HTTP")
    print(f"  the driver itself: {100 * (marks[last][1] - marks[first][1]) / seconds:.1f} % of one core (same machine)")


if __name__ == "__main__":
    main()
