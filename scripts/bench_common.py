"""Helpers shared by scripts/bench-measure.py and scripts/bench-scale.py: what /proc says of a
process, one HTTP scrape, and the formatting of figures."""

import http.client
import os
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU seconds of process `pid` (all threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_mib(pid):
    """RSS, PSS and anonymous memory of `pid` in MiB (/proc/PID/smaps_rollup)."""
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if parts and parts[0] in ("Rss:", "Pss:", "Anonymous:"):
                values[parts[0][:-1]] = int(parts[1]) / 1024
    return values.get("Rss", float("nan")), values.get("Pss", float("nan")), values.get("Anonymous", float("nan"))


def threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def cpu_ns(pid):
    """CPU nanoseconds of process `pid`'s threads (/proc/PID/task/*/schedstat): fine-grained
    where user+sys ticks (10 ms) are too coarse, for a process that does little."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:  # the thread ended meanwhile
            pass
    return total


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def scrape(conn, path):
    """One GET on a kept-alive connection; returns (seconds, status, body)."""
    start = time.perf_counter()
    conn.request("GET", path, headers={"Accept": "text/plain"})
    response = conn.getresponse()
    body = response.read()
    return time.perf_counter() - start, response.status, body


def new_conn(port):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def scrape_once(port, path):
    conn = new_conn(port)
    try:
        return scrape(conn, path)
    finally:
        conn.close()


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def fmt(value, unit):
    if value != value:  # NaN
        return "-"
    if unit == "ms":
        return f"{value * 1000:.1f}"
    if unit == "cpu":
        return f"{value * 1000:.2f}"
    if unit == "MiB":
        return f"{value:.1f}"
    if unit == "conn":
        return f"{value:.2f}"
    return f"{int(value)}"


def ratio(a, b):
    if a != a or b != b:
        return "-"
    if b == 0:
        return "0/0" if a == 0 else "∞"
    return f"{a / b:.2f}"
