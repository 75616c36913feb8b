#!/usr/bin/env python3
"""scripts/monitoring-live.py — the bundled dashboards and alert rules against a live stack.

Needs the test bed up and its environment exported (eval "$(scripts/testbed.py env)") and a
built exporter (PGSTACK_EXPORTER_BIN, default .build/debug/pgstack_exporter). Starts, on free
loopback ports in a temporary directory, the exporter (targets primary, replica, pgbouncer,
subscriber),
a real Alertmanager with alerts/alertmanager.yml (timings shortened) and a real Prometheus
(scrape and evaluation every second) with a copy of alerts/*.rules.yml whose `for` is 5s.

Checks:
  0. one real archive_command failure and recovery (for the failure-age panels);
  1. every dashboard variable query and every panel query (variables set to All,
     $__rate_interval = 10s) returns data through /api/v1/query (a "PostgreSQL 16+" panel
     only on a bed of 16 or later);
  2. every rule is healthy in /api/v1/rules and its expression evaluates without error;
  3. Alertmanager's inhibition: a critical alert suppresses its warning twin;
  4. pausing WAL replay on the replica and writing on the primary brings
     PostgresReplicationLagBytesHigh to Alertmanager; resuming replay resolves it;
  5. stopping PgBouncer brings PgBouncerDown to Alertmanager; starting it resolves it;
     pointing the bed's subscription at a port where nothing listens brings
     PostgresSubscriptionDown; restoring its connection resolves it;
  6. service discovery: a second Prometheus job with http_sd_configs on the exporter's /sd
     (added by reloading Prometheus) finds the four targets with their kind and config labels
     and scrapes each through /probe; a target added to the exporter's file and a SIGHUP to
     the exporter appears in that job without touching Prometheus's config;
  7. sharding: two more exporters with one config of six targets, and two Prometheus jobs that
     each keep the targets of one `hashmod` shard from one exporter's /sd: every target is
     scraped once, and each PostgreSQL target has one exporter session in pg_stat_activity.
Everything it started is stopped on exit, replay is resumed, PgBouncer restarted and the
subscription's connection restored.
Exit status 0 only if every check passed.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from pgstack_scripts import ROOT, SCRIPTS, Log, free_ports, output, wait_for, write_secret

ENV = os.environ
PSQL = str(Path(ENV.get("PGSTACK_PG_BIN", "/usr/lib/postgresql/15/bin")) / "psql")
TESTBED = str(SCRIPTS / "testbed.py")
RATE_INTERVAL = "10s"
FAILURES = []
log = Log("monitoring-live")


def fail(msg):
    FAILURES.append(msg)
    log("FAIL: " + msg)


def http_json(url, data=None):
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"} if body else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def psql(dsn, sql):
    return output([PSQL, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", dsn, "-c", sql])


class Servers:
    """The processes this script starts; all stopped by stop_all()."""

    def __init__(self, tmp):
        self.tmp, self.procs = tmp, []

    def process(self, name):
        return next(p for n, p in self.procs if n == name)

    def start(self, name, argv):
        out = open(self.tmp / f"{name}.log", "w")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, p))
        log(f"started {name} (pid {p.pid})")
        return p

    def stop_all(self):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            log(f"stopped {name}")


# ---------------------------------------------------------------------------- setup
def write_configs(tmp, exporter_port, am_port):
    dsns = {"primary": ENV["PGSTACK_PRIMARY_DSN"], "replica": ENV["PGSTACK_REPLICA_DSN"],
            "pgbouncer": ENV["PGSTACK_PGBOUNCER_DSN"], "subscriber": ENV["PGSTACK_SUBSCRIBER_DSN"]}
    targets = []
    for name, dsn in dsns.items():
        f = tmp / f"{name}.dsn"
        write_secret(f, dsn + "\n")
        kind = "pgbouncer" if name == "pgbouncer" else "postgres"
        targets.append(f"  - name: {name}\n    kind: {kind}\n    dsn_file: {f}\n"
                       f"    labels: {{cluster: live, role: {name}}}\n")
    (tmp / "exporter.yml").write_text("targets:\n" + "".join(targets))

    # The bundled rules with every `for` shortened to 5s.
    rules = []
    for src in sorted((ROOT / "alerts").glob("*.rules.yml")):
        dst = tmp / src.name
        dst.write_text(re.sub(r"(?m)^(\s+for:\s*)\S+", r"\g<1>5s", src.read_text()))
        rules.append(str(dst))

    # The example Alertmanager routing with test timings (same tree and inhibition).
    am = (ROOT / "alerts" / "alertmanager.yml").read_text()
    am = re.sub(r"(?m)^(\s+group_wait:).*$", r"\1 1s", am)
    am = re.sub(r"(?m)^(\s+group_interval:).*$", r"\1 1s", am)
    (tmp / "alertmanager.yml").write_text(am)

    (tmp / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n"
        "rule_files:\n" + "".join(f"  - {r}\n" for r in rules) +
        "alerting:\n  alertmanagers:\n    - static_configs:\n"
        f"        - targets: ['127.0.0.1:{am_port}']\n"
        "scrape_configs:\n  - job_name: pgstack\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{exporter_port}']\n")
    return rules


def provoke_archive_failure():
    """One real archive_command failure, then recovery, so the failure panels have data:
    the bed's archive_command refuses to overwrite a file already in the archive."""
    primary = ENV["PGSTACK_PRIMARY_ADMIN_DSN"]
    psql(primary, "CREATE TABLE IF NOT EXISTS pgstack_live_check (id int, v text); INSERT INTO pgstack_live_check VALUES (0, 'x')")
    segment = psql(primary, "SELECT pg_walfile_name(pg_current_wal_lsn())")
    blocker = Path(ENV["PGSTACK_TESTBED_DIR"]) / "archive" / segment
    failed = int(psql(primary, "SELECT failed_count FROM pg_stat_archiver"))
    blocker.write_text("")
    try:
        psql(primary, "SELECT pg_switch_wal()")
        wait_for("an archive failure", lambda: int(psql(primary, "SELECT failed_count FROM pg_stat_archiver")) > failed, timeout=30)
    finally:
        blocker.unlink()
    archived = int(psql(primary, "SELECT archived_count FROM pg_stat_archiver"))

    def archived_again():
        psql(primary, "INSERT INTO pgstack_live_check VALUES (0, 'x'); SELECT pg_switch_wal()")
        return int(psql(primary, "SELECT archived_count FROM pg_stat_archiver")) > archived
    wait_for("archiving to recover", archived_again, timeout=90, interval=2)


class Workload(threading.Thread):
    """Keeps statements running on the primary and through PgBouncer so rates have data."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                psql(ENV["PGSTACK_APP_PGBOUNCER_DSN"],
                     "SELECT count(*) FROM pg_class; SELECT sum(g) FROM generate_series(1, 1000) g;")
                psql(ENV["PGSTACK_PRIMARY_ADMIN_DSN"],
                     "INSERT INTO pgstack_live_check SELECT g, md5(g::text) FROM generate_series(1, 100) g;"
                     " SELECT count(*) FROM pgstack_live_check;")
            except subprocess.CalledProcessError:
                pass  # PgBouncer is stopped on purpose in one check
            self.stop.wait(0.3)


# ---------------------------------------------------------------------------- checks
def query(prom, expr):
    r = http_json(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    if r.get("status") != "success":
        raise RuntimeError(r.get("error"))
    return r["data"]["result"]


def substitute(expr):
    for var, value in (("$job", "pgstack"), ("$instance", ".*"), ("$target", ".*"), ("$datname", ".*"),
                       ("$pgbouncer", ".*"), ("$__rate_interval", RATE_INTERVAL)):
        expr = expr.replace(var, value)
    return expr


def check_dashboards(prom):
    panels = queries = 0
    # A panel whose description names "PostgreSQL 16+" may be empty on an older bed.
    before16 = int(psql(ENV["PGSTACK_PRIMARY_ADMIN_DSN"], "SHOW server_version_num")) < 160000
    for path in sorted((ROOT / "dashboards").glob("*.json")):
        dash = json.loads(path.read_text())
        for var in dash["templating"]["list"]:
            if var["type"] != "query":
                continue
            m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", var["definition"])
            expr = f"count by ({m.group(2)}) ({substitute(m.group(1))})"
            try:
                if not query(prom, expr):
                    fail(f"{path.name}: variable {var['name']}: no values ({expr})")
            except Exception as e:
                fail(f"{path.name}: variable {var['name']}: {e}")
        for p in dash["panels"]:
            if p["type"] == "row":
                continue
            panels += 1
            for t in p["targets"]:
                queries += 1
                expr = substitute(t["expr"])
                try:
                    if not query(prom, expr) and not (before16 and "PostgreSQL 16+" in p["description"]):
                        fail(f"{path.name}: panel '{p['title']}' {t['refId']}: no data ({expr})")
                except Exception as e:
                    fail(f"{path.name}: panel '{p['title']}' {t['refId']}: {e}")
    log(f"dashboards: {panels} panels, {queries} queries evaluated")


def check_rules(prom):
    groups = http_json(f"{prom}/api/v1/rules")["data"]["groups"]
    n = 0
    for g in groups:
        for r in g["rules"]:
            n += 1
            if r.get("health") != "ok" or r.get("lastError"):
                fail(f"rule {r['name']} ({g['name']}): health {r.get('health')} {r.get('lastError', '')}")
            try:
                query(prom, r["query"])
            except Exception as e:
                fail(f"rule {r['name']}: expression does not evaluate: {e}")
    log(f"rules: {n} rules healthy and evaluated")
    return n


def am_alerts(am, name):
    return [a for a in http_json(f"{am}/api/v2/alerts") if a["labels"].get("alertname") == name]


def check_inhibition(am):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    base = {"alertname": "PgstackInhibitionCheck", "instance": "check:1", "target": "primary"}
    http_json(f"{am}/api/v2/alerts", [
        {"labels": {**base, "severity": "critical"}, "startsAt": now},
        {"labels": {**base, "severity": "warning"}, "startsAt": now},
        {"labels": {**base, "target": "other", "severity": "warning"}, "startsAt": now},
    ])

    def states():
        got = {(a["labels"]["target"], a["labels"]["severity"]): a["status"]["state"]
               for a in am_alerts(am, "PgstackInhibitionCheck")}
        return got if len(got) == 3 and "unprocessed" not in got.values() else None
    got = wait_for("the inhibition check alerts in Alertmanager", states, timeout=20)
    want = {("primary", "critical"): "active", ("primary", "warning"): "suppressed", ("other", "warning"): "active"}
    if got != want:
        fail(f"inhibition: got {got}, want {want}")
    else:
        log("inhibition: the warning twin of a critical alert is suppressed, another target's warning is not")


def wait_alert(am, name, present, timeout, **labels):
    def match():
        found = [a for a in am_alerts(am, name)
                 if all(a["labels"].get(k) == v for k, v in labels.items()) and a["status"]["state"] == "active"]
        return found if present else (not found)
    start = time.monotonic()
    try:
        wait_for(f"{name} {'to fire' if present else 'to resolve'} in Alertmanager", match, timeout=timeout)
    except TimeoutError as e:
        fail(str(e))
        return None
    took = time.monotonic() - start
    log(f"{name} {'reached Alertmanager' if present else 'resolved'} after {took:.1f}s")
    return took


def check_replication_lag_alert(am):
    replica, primary = ENV["PGSTACK_REPLICA_ADMIN_DSN"], ENV["PGSTACK_PRIMARY_ADMIN_DSN"]
    psql(replica, "SELECT pg_wal_replay_pause()")
    try:
        # ~100 MiB of WAL the paused standby receives but cannot replay (threshold: 64 MiB).
        psql(primary, "CREATE TABLE pgstack_live_lag AS SELECT g, repeat('x', 400) AS pad FROM generate_series(1, 200000) g")
        wait_alert(am, "PostgresReplicationLagBytesHigh", True, 90, severity="warning", target="primary")
    finally:
        psql(replica, "SELECT pg_wal_replay_resume()")
        psql(primary, "DROP TABLE IF EXISTS pgstack_live_lag")
    wait_alert(am, "PostgresReplicationLagBytesHigh", False, 90)


def check_subscription_down_alert(am):
    """The subscription pointed at a port where nothing listens: enabled, and no worker."""
    subscriber = ENV["PGSTACK_SUBSCRIBER_ADMIN_DSN"]
    conninfo = psql(subscriber, "SELECT subconninfo FROM pg_subscription WHERE subname = 'pgstack_sub'")
    psql(subscriber, "ALTER SUBSCRIPTION pgstack_sub CONNECTION 'host=127.0.0.1 port=1 dbname=appdb'")
    try:
        wait_alert(am, "PostgresSubscriptionDown", True, 90, severity="critical", target="subscriber", subname="pgstack_sub")
    finally:
        psql(subscriber, "ALTER SUBSCRIPTION pgstack_sub CONNECTION '" + conninfo.replace("'", "''") + "'")
    wait_alert(am, "PostgresSubscriptionDown", False, 90)


def check_pgbouncer_down_alert(am):
    subprocess.run([TESTBED, "stop", "pgbouncer"], check=True)
    try:
        wait_alert(am, "PgBouncerDown", True, 90, severity="critical", target="pgbouncer")
    finally:
        subprocess.run([TESTBED, "start", "pgbouncer"], check=True)
    wait_alert(am, "PgBouncerDown", False, 90)


# ---------------------------------------------------------------------------- main
def check_service_discovery(prom, tmp, exporter_port, servers):
    """Check 6: a Prometheus job fed by the exporter's /sd, then a target added by reload."""
    config = tmp / "prometheus.yml"
    config.write_text(config.read_text() +
                      "  - job_name: pgstack-sd\n    http_sd_configs:\n"
                      f"      - url: http://127.0.0.1:{exporter_port}/sd\n        refresh_interval: 1s\n")
    servers.process("prometheus").send_signal(signal.SIGHUP)

    def discovered(count):
        targets = http_json(f"{prom}/api/v1/targets?state=active")["data"]["activeTargets"]
        mine = [t for t in targets if t["labels"].get("job") == "pgstack-sd"]
        return mine if len(mine) == count and all(t["health"] == "up" for t in mine) else None

    targets = wait_for("4 targets discovered through /sd and up", lambda: discovered(4), timeout=60)
    labels = sorted((t["labels"]["target"], t["labels"]["kind"], t["labels"]["cluster"], t["labels"]["role"]) for t in targets)
    if labels != [("pgbouncer", "pgbouncer", "live", "pgbouncer"), ("primary", "postgres", "live", "primary"),
                  ("replica", "postgres", "live", "replica"), ("subscriber", "postgres", "live", "subscriber")]:
        fail(f"/sd targets' labels: {labels}")
    if any(t["scrapeUrl"].split("?")[0] != f"http://127.0.0.1:{exporter_port}/probe" for t in targets):
        fail(f"/sd targets not scraped through /probe: {[t['scrapeUrl'] for t in targets]}")
    wait_for("pg_up through /sd", lambda: {s["metric"]["target"]: s["value"][1] for s in query(
        prom, 'pg_up{job="pgstack-sd",cluster="live"} or pgbouncer_up{job="pgstack-sd",cluster="live"}')}
        == {"primary": "1", "replica": "1", "pgbouncer": "1", "subscriber": "1"})

    exporter_yml = tmp / "exporter.yml"
    exporter_yml.write_text(exporter_yml.read_text() +
                            f"  - name: primary-again\n    kind: postgres\n    dsn_file: {tmp / 'primary.dsn'}\n"
                            "    labels: {cluster: live, role: added}\n")
    started = time.monotonic()
    servers.process("exporter").send_signal(signal.SIGHUP)
    wait_for("the target added by reload discovered and up", lambda: discovered(5), timeout=60)
    wait_for("pg_up of the added target", lambda: [s["value"][1] for s in query(
        prom, 'pg_up{job="pgstack-sd",target="primary-again",role="added"}')] == ["1"])
    log(f"service discovery: 4 targets found, a 5th added by reload seen by Prometheus in {time.monotonic() - started:.1f}s")


SHARD_TARGETS = [("p1", "primary"), ("p2", "primary"), ("p3", "primary"), ("r1", "replica"), ("r2", "replica")]


def check_sharding(prom, tmp, servers, exporter_bin):
    """Check 7: two exporters, one config, split by hashmod over two Prometheus jobs."""
    dsns = {"primary": ENV["PGSTACK_PRIMARY_DSN"], "replica": ENV["PGSTACK_REPLICA_DSN"]}
    targets = "".join(
        f"  - {{name: {name}, kind: postgres, dsn: \"{dsns[server]} application_name=pgstack_shard_{name}\"}}\n"
        for name, server in SHARD_TARGETS)
    targets += f"  - {{name: b1, kind: pgbouncer, dsn: \"{ENV['PGSTACK_PGBOUNCER_DSN']}\"}}\n"
    write_secret(tmp / "sharded.yml", "targets:\n" + targets)
    ports = free_ports(2)
    for index, port in enumerate(ports):
        servers.start(f"exporter-shard{index}", [exporter_bin, "--config.file", str(tmp / "sharded.yml"),
                                                 "--web.listen-address", f"127.0.0.1:{port}", "--log.level", "warn"])
    for port in ports:
        wait_for(f"exporter on {port}", lambda port=port: urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200)
    jobs = "".join(
        f"  - job_name: shard{index}\n    http_sd_configs:\n      - url: http://127.0.0.1:{port}/sd\n        refresh_interval: 1s\n"
        "    relabel_configs:\n"
        "      - {source_labels: [__param_target], modulus: 2, target_label: __tmp_shard, action: hashmod}\n"
        f"      - {{source_labels: [__tmp_shard], regex: '{index}', action: keep}}\n"
        for index, port in enumerate(ports))
    config = tmp / "prometheus.yml"
    config.write_text(config.read_text() + jobs)
    servers.process("prometheus").send_signal(signal.SIGHUP)

    def scraped():
        series = query(prom, 'count by (target, job) (pg_up{job=~"shard.*"} or pgbouncer_up{job=~"shard.*"})')
        up = query(prom, 'pg_up{job=~"shard.*"} == 1 or pgbouncer_up{job=~"shard.*"} == 1')
        return series if len(series) == 6 and len(up) == 6 else None

    series = wait_for("six targets scraped once each over the two shards", scraped, timeout=60)
    per_target = {}
    for s in series:
        per_target.setdefault(s["metric"]["target"], []).append(s["metric"]["job"])
    if sorted(per_target) != sorted([name for name, _ in SHARD_TARGETS] + ["b1"]) or any(len(j) != 1 for j in per_target.values()):
        fail(f"sharding: targets per job {per_target}")
    shards = {job: sorted(t for t, jobs in per_target.items() if job in jobs) for job in ("shard0", "shard1")}
    if not shards["shard0"] or not shards["shard1"]:
        fail(f"sharding: one shard got every target: {shards}")
    sessions = {}
    for server in ("PRIMARY", "REPLICA"):
        rows = psql(ENV[f"PGSTACK_{server}_ADMIN_DSN"], "SELECT application_name, count(*) FROM pg_stat_activity "
                    "WHERE application_name LIKE 'pgstack_shard_%' GROUP BY 1")
        for line in rows.splitlines():
            name, count = line.split("|")
            sessions[name.removeprefix("pgstack_shard_")] = int(count)
    # One exporter's: its connection (on which the per-database collectors also read its own
    # database, postgres), and one per other database (at most 3).
    databases = int(psql(ENV["PGSTACK_PRIMARY_ADMIN_DSN"], "SELECT count(*) FROM pg_database WHERE datallowconn AND NOT datistemplate"))
    expected = 1 + min(databases - 1, 3)
    if sessions != {name: expected for name, _ in SHARD_TARGETS}:
        fail(f"sharding: exporter sessions per target {sessions} ({expected} each expected)")
    log(f"sharding: {shards['shard0']} through one exporter, {shards['shard1']} through the other; one exporter's {expected} sessions per target")


def main():
    for var in ("PGSTACK_PRIMARY_DSN", "PGSTACK_REPLICA_DSN", "PGSTACK_PGBOUNCER_DSN", "PGSTACK_APP_PGBOUNCER_DSN",
                "PGSTACK_PRIMARY_ADMIN_DSN", "PGSTACK_REPLICA_ADMIN_DSN"):
        if var not in ENV:
            log(f"{var} is not set: start the test bed and eval \"$(scripts/testbed.py env)\" first")
            return 2
    exporter_bin = ENV.get("PGSTACK_EXPORTER_BIN", str(ROOT / ".build" / "debug" / "pgstack_exporter"))
    for binary in (exporter_bin, "prometheus", "prometheus-alertmanager"):
        if not shutil.which(binary):
            log(f"{binary} not found (build the exporter; scripts/install-deps.sh installs the others)")
            return 2
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="pgstack-monitoring-"))
    servers = Servers(tmp)
    workload = Workload()
    ports = dict(zip(("exporter", "prometheus", "alertmanager"), free_ports(3)))
    prom, am = f"http://127.0.0.1:{ports['prometheus']}", f"http://127.0.0.1:{ports['alertmanager']}"
    try:
        write_configs(tmp, ports["exporter"], ports["alertmanager"])
        psql(ENV["PGSTACK_PRIMARY_ADMIN_DSN"], "DROP TABLE IF EXISTS pgstack_live_lag")
        provoke_archive_failure()
        servers.start("exporter", [exporter_bin, "--config.file", str(tmp / "exporter.yml"),
                                   "--web.listen-address", f"127.0.0.1:{ports['exporter']}", "--log.level", "warn"])
        servers.start("alertmanager", [
            "prometheus-alertmanager", f"--config.file={tmp / 'alertmanager.yml'}", f"--storage.path={tmp / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{ports['alertmanager']}", "--cluster.listen-address="])
        servers.start("prometheus", [
            "prometheus", f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{ports['prometheus']}", "--rules.alert.resend-delay=1s"])
        wait_for("Alertmanager ready", lambda: urllib.request.urlopen(f"{am}/-/ready", timeout=2).status == 200)
        wait_for("Prometheus ready", lambda: urllib.request.urlopen(f"{prom}/-/ready", timeout=2).status == 200)
        workload.start()
        # Enough scrapes that rate() over $__rate_interval has two points everywhere.
        wait_for("15 scrapes of the exporter", lambda: any(
            float(s["value"][1]) >= 15 for s in query(prom, 'count_over_time(pgstack_exporter_build_info{job="pgstack"}[1m])')),
            timeout=90)
        up = {s["metric"]["target"]: s["value"][1] for s in query(prom, "pg_up or pgbouncer_up")}
        if up != {"primary": "1", "replica": "1", "pgbouncer": "1", "subscriber": "1"}:
            fail(f"targets not all up: {up}")
        check_dashboards(prom)
        check_rules(prom)
        check_inhibition(am)
        check_replication_lag_alert(am)
        check_pgbouncer_down_alert(am)
        check_subscription_down_alert(am)
        check_service_discovery(prom, tmp, ports["exporter"], servers)
        check_sharding(prom, tmp, servers, exporter_bin)
    except Exception as e:
        fail(f"{type(e).__name__}: {e}")
    finally:
        workload.stop.set()
        workload.join(timeout=10)
        servers.stop_all()
        try:
            psql(ENV["PGSTACK_REPLICA_ADMIN_DSN"], "SELECT pg_wal_replay_resume()")
            psql(ENV["PGSTACK_PRIMARY_ADMIN_DSN"], "DROP TABLE IF EXISTS pgstack_live_check, pgstack_live_lag")
        except subprocess.CalledProcessError as e:
            log(f"cleanup: {e.stderr.strip()}")
        if FAILURES:
            log(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    log(f"{'FAILED: ' + str(len(FAILURES)) + ' problem(s)' if FAILURES else 'all checks passed'}"
        f" in {time.monotonic() - started:.1f}s")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
