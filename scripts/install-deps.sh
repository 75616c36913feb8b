#!/usr/bin/env bash
# scripts/install-deps.sh — make sure the Debian (bookworm) packages needed to build
# pgstack_exporter and to run the loopback test bed are installed, and the pinned Python
# packages of scripts/requirements.txt (when that file exists).
#
# Idempotent: does nothing (and never touches the network) when everything is
# already there. Otherwise, as root, runs `apt-get update` once and installs only
# the missing packages; as a normal user it prints what to install and exits 1.
#
# Note: installing postgresql-15 / pgbouncer makes Debian create a 'main' cluster
# on port 5432 and enable a pgbouncer service on 6432 (started only where systemd
# or an init system runs). That is harmless: we never stop or use them; the test
# bed picks its own free ports on 127.0.0.1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Needed packages:
#   libpq-dev pkg-config zlib1g-dev  build the exporter (libpq through pkg-config, zlib)
#   postgresql-15 postgresql-contrib-15  servers for the test bed (+ pg_stat_statements)
#   pgbouncer                           the pooler for the test bed
#   prometheus                          promtool (alert rule tests) and the server for the live check
#   prometheus-alertmanager             amtool and the Alertmanager of the end-to-end alert test
#   curl python3 python3-yaml           demo/manual checks, the Python scripts, scripts/check-monitoring.py
#   python3-pip                         scripts/requirements.txt; PostgreSQL 17/18 wheels for the test bed
#   openssl                             self-signed certificates for the TLS tests
#   apache2-utils                       htpasswd, whose $2y$ bcrypt hashes the basic-auth tests use
#   dpkg-dev binutils lintian systemd adduser  scripts/package.sh: dpkg-shlibdeps, strip, lintian,
#                                       systemd-analyze verify, the package's system user
#   chromium                            headless browser of the status page test (dump DOM, screenshot)
PACKAGES=(
    libpq-dev pkg-config zlib1g-dev
    postgresql-15 postgresql-contrib-15
    pgbouncer prometheus prometheus-alertmanager
    curl python3 python3-yaml python3-pip openssl apache2-utils
    dpkg-dev binutils lintian systemd adduser
    chromium
)

# is_installed PKG: true if PKG is installed, or if it is a virtual package
# provided by an installed one (on bookworm postgresql-contrib-15 is only
# "Provides:"d by postgresql-15, so dpkg-query alone reports it missing).
is_installed() {
    local pkg=$1 status
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [[ $status == "install ok installed" ]] && return 0
    dpkg-query -W -f='${db:Status-Abbrev} ${Provides}\n' 2>/dev/null |
        awk -v p="$pkg" '
            $1 == "ii" { for (i = 2; i <= NF; i++) { f = $i; sub(/,$/, "", f); if (f == p) found = 1 } }
            END { exit !found }'
}

# missing_packages: print the packages from PACKAGES that are not installed.
missing_packages() {
    local pkg
    for pkg in "${PACKAGES[@]}"; do
        is_installed "$pkg" || printf '%s\n' "$pkg"
    done
}

# pip_requirements: the pinned Python packages, when one is missing.
pip_requirements() {
    [[ -f scripts/requirements.txt ]] || return 0
    python3 scripts/pgstack_scripts.py requirements-met scripts/requirements.txt && return 0
    local pip=(python3 -m pip install --quiet --root-user-action=ignore -r scripts/requirements.txt)
    if [[ $EUID -eq 0 ]]; then
        # Debian's own python3 refuses pip installs (PEP 668) unless told; as root we install.
        python3 -c 'import sys, sysconfig, os; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))' &&
            pip+=(--break-system-packages)
        "${pip[@]}" || die "pip could not install scripts/requirements.txt"
    elif ! "${pip[@]}" 2>/dev/null; then
        # A plain user may not be able to install them; only scripts/gen-dashboards.py needs them.
        log "warning: could not install scripts/requirements.txt (scripts/gen-dashboards.py needs it): ${pip[*]}"
    fi
}

# Step 1: find what is missing; nothing to do is the common, fast case.
mapfile -t missing < <(missing_packages)
if [[ ${#missing[@]} -eq 0 ]]; then
    pip_requirements
    exit 0
fi

# Step 2: without root we cannot install; say exactly what is needed.
if [[ $EUID -ne 0 ]]; then
    log "missing Debian packages: ${missing[*]}"
    log "install them as root, e.g.:"
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    echo "  (or run: sudo $0)" >&2
    exit 1
fi

# Step 3: one apt-get update, then install only the missing packages. Wait for a
# concurrently running apt/dpkg (e.g. unattended-upgrades) instead of failing.
log "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o DPkg::Lock::Timeout=600)
apt-get "${apt_opts[@]}" update
apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}"

# Step 4: verify; a package that apt could not resolve must fail loudly here.
mapfile -t still_missing < <(missing_packages)
if [[ ${#still_missing[@]} -ne 0 ]]; then
    die "still missing after apt-get install: ${still_missing[*]}"
fi
pip_requirements
log "all dependencies installed"
