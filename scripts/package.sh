#!/usr/bin/env bash
# scripts/package.sh — the Debian package of pgstack_exporter, in dist/:
#   /usr/bin/pgstack_exporter            release build, Swift runtime linked in, stripped
#   /lib/systemd/system/pgstack-exporter.service   hardened unit (not enabled on install)
#   /etc/default/pgstack-exporter        the unit's environment (ARGS: more flags)
#   /etc/pgstack_exporter/pgstack.yml    example targets, 0640 root:pgstack-exporter
#   /usr/share/pgstack-exporter/         dashboards, alert rules, runbooks.md
#   /usr/share/doc/pgstack-exporter/     README, CHANGELOG, metrics, copyright, licenses
# The static files are in packaging/deb/. It packages the last commit (exported to dist/src,
# so the revision stamped into the binary, --version and pgstack_exporter_build_info, is exactly
# what was built), or with --worktree the checkout as it is ("-dirty" when it has changes).
#
# Usage: scripts/package.sh [--test] [--worktree] [--skip-build] [--runbook-base-url URL]
#   --test                  then test the package, as root: systemd-analyze verify, lintian,
#                           dpkg -i, --version, a run against a test bed of its own, dpkg --purge
#                           and a check that nothing is left (refused if it is installed already)
#   --worktree              build and package the working tree, uncommitted changes included
#   --skip-build            package the binary already in .build-release (no swift build)
#   --runbook-base-url URL  where the alert rules' runbook_url links point: URL#<alertname>
#                           (default: the package's copy, file:///usr/share/pgstack-exporter/runbooks.md)
#   -h, --help              this text
# Environment:
#   PGSTACK_RUNBOOK_BASE_URL      as --runbook-base-url (the flag wins)
#   PGSTACK_DEB_MAINTAINER        the Maintainer field (default: the author of the last commit)
#   PGSTACK_PACKAGE_TESTBED_DIR   the --test bed (default /tmp/pgstack-testbed-pkg; never the tests')
# Exit status: 0 built (and tested), 1 a step failed, 2 bad arguments.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAME=pgstack-exporter
SCRATCH=.build-release
STAGE=dist/stage
RUNBOOK_DEFAULT=file:///usr/share/pgstack-exporter/runbooks.md

usage_error() {
    log "error: $*"
    log "usage: scripts/package.sh [--test] [--worktree] [--skip-build] [--runbook-base-url URL] (--help for more)"
    exit 2
}

# Step 1: arguments.
run_test=0 worktree=0 skip_build=0 runbook_base=${PGSTACK_RUNBOOK_BASE_URL:-$RUNBOOK_DEFAULT}
while [[ $# -gt 0 ]]; do
    case $1 in
        --test) run_test=1 ;;
        --worktree) worktree=1 ;;
        --skip-build) skip_build=1 ;;
        --runbook-base-url) [[ $# -ge 2 ]] || usage_error "--runbook-base-url needs a URL"; runbook_base=$2; shift ;;
        --runbook-base-url=*) runbook_base=${1#*=} ;;
        -h | --help) usage_from_header "$0"; exit 0 ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
    shift
done
# An absolute URL without an anchor; no quote, space, backslash or brace (the rules are YAML
# strings and Go templates).
[[ $runbook_base =~ ^[A-Za-z][A-Za-z0-9+.-]*://[^[:space:]\"\\#{}]+$ ]] ||
    usage_error "runbook base URL '$runbook_base' must be an absolute URL (scheme://…) without '#', spaces, quotes, backslashes or braces"

# need TOOL PACKAGE...: fail clearly when a tool is missing.
need() {
    local tool=$1
    shift
    command -v "$tool" >/dev/null 2>&1 ||
        die "'$tool' not found; install the Debian package $* (or run scripts/install-deps.sh)"
}
need git git
need dpkg-deb dpkg
need dpkg-shlibdeps dpkg-dev
need strip binutils
need objdump binutils
need gzip gzip
[[ $skip_build == 1 ]] || require_swift
if [[ $run_test == 1 ]]; then
    [[ $EUID -eq 0 ]] || die "--test installs the package: run it as root"
    need lintian lintian
    need systemd-analyze systemd
    need curl curl
    need adduser adduser
    need setpriv util-linux
    need promtool prometheus
    need python3 python3
    if [[ ! "$(dpkg-query -W -f='${Status}' "$NAME" 2>/dev/null || true)" =~ ^(unknown ok not-installed)?$ ]]; then
        die "$NAME is already on this machine; --test installs and purges it: dpkg --purge $NAME first"
    fi
    if getent passwd "$NAME" >/dev/null || getent group "$NAME" >/dev/null; then
        die "a user or group '$NAME' exists; --test would delete it on purge: remove it first"
    fi
fi

# Step 2: the sources: the last commit, exported (with the checkout's Package.resolved, so the
# same dependency versions), or the working tree.
git rev-parse --verify -q HEAD >/dev/null || die "$ROOT is not a git checkout with a commit"
if [[ $worktree == 1 ]]; then
    SRC=.
    COMMIT="$(git describe --always --dirty --abbrev=12)"
else
    SRC=dist/src
    rm -rf "$SRC"
    mkdir -p "$SRC"
    git archive --format=tar HEAD | tar -x -C "$SRC"
    if [[ -f Package.resolved ]]; then cp Package.resolved "$SRC"/; fi
    COMMIT="$(git describe --always --abbrev=12 HEAD)"
fi

# What is built: the release version (BuildInfo.swift), the commit, the Swift version.
VERSION="$(sed -n 's/.*public static let version = "\([^"]*\)".*/\1/p' "$SRC"/Sources/Exporter/BuildInfo.swift)"
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "no version found in $SRC/Sources/Exporter/BuildInfo.swift"
[[ $COMMIT =~ ^[A-Za-z0-9._+-]+$ ]] || die "unexpected commit name '$COMMIT'"
# The package version: the release on its tag (v0.1.0, clean tree), otherwise a snapshot that
# sorts before it: 0.1.0~git20250101120000.1234567890ab.
if [[ $COMMIT != *-dirty && "$(git describe --exact-match --tags HEAD 2>/dev/null || true)" == "v$VERSION" ]]; then
    DEB_VERSION=$VERSION
else
    DEB_VERSION="$VERSION~git$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S).$(git rev-parse --short=12 HEAD)"
fi
ARCH="$(dpkg --print-architecture)"
MAINTAINER="${PGSTACK_DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>')}"
[[ $MAINTAINER =~ ^[^\<\>]+\ \<[^\<\>@[:space:]]+@[^\<\>[:space:]]+\>$ ]] ||
    usage_error "PGSTACK_DEB_MAINTAINER must be 'Name <address>', not '$MAINTAINER'"
BIN=$SCRATCH/release/pgstack_exporter

# Step 3: the release binary, with the Swift runtime and Foundation linked in statically.
if [[ $skip_build == 0 ]]; then
    SWIFT_VERSION="$(swift --version 2>&1 | sed -n 's/.*Swift version \([0-9][0-9.]*\).*/\1/p' | head -n 1)"
    [[ -n $SWIFT_VERSION ]] || die "could not read the Swift version from 'swift --version'"
    log "building $VERSION (revision $COMMIT, Swift $SWIFT_VERSION) from $SRC in $SCRATCH"
    swift build -c release --static-swift-stdlib --package-path "$SRC" --scratch-path "$ROOT/$SCRATCH" --product pgstack_exporter \
        -Xcc "-DPGSTACK_COMMIT=\"$COMMIT\"" -Xcc "-DPGSTACK_SWIFT_VERSION=\"$SWIFT_VERSION\""
fi
[[ -x $BIN ]] || die "$BIN is missing; run without --skip-build"
# What the binary says it is (with --skip-build, what it was built as).
VERSION_TEXT="$("$BIN" --version)"
[[ $VERSION_TEXT =~ ^$VERSION\ \(revision\ ([^,]+),\ Swift\ ([^\)]+)\)$ ]] ||
    die "$BIN --version says '$VERSION_TEXT', not '$VERSION (revision …, Swift …)'"
COMMIT=${BASH_REMATCH[1]} SWIFT_VERSION=${BASH_REMATCH[2]}
if objdump -p "$BIN" | grep -q 'NEEDED.*libswift\|NEEDED.*libFoundation'; then
    die "$BIN links the Swift runtime dynamically; it must be built with --static-swift-stdlib"
fi

# Step 4: the package's tree.
rm -rf "$STAGE" dist/"$NAME"_*.deb
mkdir -p "$STAGE"
umask 022
install -d "$STAGE"/usr/bin "$STAGE"/lib/systemd/system "$STAGE"/etc/default "$STAGE"/etc/pgstack_exporter \
    "$STAGE"/usr/share/"$NAME"/alerts "$STAGE"/usr/share/"$NAME"/dashboards \
    "$STAGE"/usr/share/doc/"$NAME"/licenses "$STAGE"/usr/share/man/man1 "$STAGE"/usr/share/lintian/overrides \
    "$STAGE"/DEBIAN
strip --remove-section=.comment --remove-section=.note -o "$STAGE"/usr/bin/pgstack_exporter "$BIN"
chmod 0755 "$STAGE"/usr/bin/pgstack_exporter
install -m 0644 "$SRC"/packaging/deb/pgstack-exporter.service "$STAGE"/lib/systemd/system/
install -m 0644 "$SRC"/packaging/deb/default "$STAGE"/etc/default/"$NAME"
# Root's and the service's only: postinst gives it to the group pgstack-exporter.
install -m 0640 "$SRC"/packaging/deb/pgstack.yml "$STAGE"/etc/pgstack_exporter/pgstack.yml

# render_rules SRC DEST: the alert rules (or their tests) with runbook_url under the chosen
# base. Every runbook_url must start with the default base, so none is left behind.
render_rules() {
    local src=$1 dest=$2 text urls defaults
    text="$(<"$src")"
    urls="$(grep -c '^[[:space:]]*runbook_url:' "$src" || true)"
    defaults="$(grep -c "^[[:space:]]*runbook_url: \"$RUNBOOK_DEFAULT#" "$src" || true)"
    [[ $urls == "$defaults" ]] || die "$src: $((urls - defaults)) runbook_url(s) do not start with $RUNBOOK_DEFAULT#"
    printf '%s\n' "${text//"$RUNBOOK_DEFAULT#"/"$runbook_base#"}" >"$dest"
}
render_rules "$SRC"/alerts/pgstack.rules.yml "$STAGE"/usr/share/"$NAME"/alerts/pgstack.rules.yml
render_rules "$SRC"/alerts/pgstack.rules.test.yml "$STAGE"/usr/share/"$NAME"/alerts/pgstack.rules.test.yml
install -m 0644 "$SRC"/alerts/alertmanager.yml "$STAGE"/usr/share/"$NAME"/alerts/
install -m 0644 "$SRC"/dashboards/*.json "$SRC"/dashboards/README.md "$STAGE"/usr/share/"$NAME"/dashboards/
install -m 0644 "$SRC"/docs/runbooks.md "$STAGE"/usr/share/"$NAME"/runbooks.md

doc="$STAGE"/usr/share/doc/"$NAME"
# The years of the commits, first to last.
years="$(git log --reverse --format=%ad --date=format:%Y | sed -n '1p;$p' | uniq | paste -sd-)"
sed "s/@YEARS@/$years/" "$SRC"/packaging/deb/copyright >"$doc"/copyright
chmod 0644 "$doc"/copyright
install -m 0644 "$SRC"/packaging/deb/lintian-overrides "$STAGE"/usr/share/lintian/overrides/"$NAME"
for f in README.md CHANGELOG.md docs/metrics.md; do
    gzip -9n <"$SRC/$f" >"$doc/$(basename "$f").gz"
done
# The license of every Swift package the build checked out (they are linked into the binary).
for license in "$SCRATCH"/checkouts/*/LICENSE*; do
    [[ -f $license ]] || continue
    install -m 0644 "$license" "$doc/licenses/$(basename "$(dirname "$license")").txt"
done
# A native package's changelog, in Debian's format; the changes themselves are CHANGELOG.md.
{
    printf '%s (%s) unstable; urgency=medium\n\n' "$NAME" "$DEB_VERSION"
    printf '  * Built from revision %s; the changes are in CHANGELOG.md.gz.\n\n' "$COMMIT"
    printf ' -- %s  %s\n' "$MAINTAINER" "$(git log -1 --format=%aD)"
} | gzip -9n >"$doc"/changelog.gz

# The manual page: the command's --help, with the files the package installs.
{
    printf '.TH PGSTACK_EXPORTER 1 "%s" "pgstack_exporter %s" "User Commands"\n' "$(git log -1 --format=%as)" "$VERSION"
    printf '.SH NAME\npgstack_exporter \\- Prometheus exporter for PostgreSQL, its replicas and PgBouncer\n'
    printf '.SH SYNOPSIS\n.B pgstack_exporter\n[\\fIOPTIONS\\fR]\n.SH DESCRIPTION\n.nf\n'
    "$STAGE"/usr/bin/pgstack_exporter --help | sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
    printf '.fi\n.SH FILES\n'
    printf '.TP\n/etc/pgstack_exporter/pgstack.yml\nthe targets of the pgstack-exporter service\n'
    printf '.TP\n/etc/default/pgstack-exporter\nits environment; ARGS holds more flags\n'
    printf '.TP\n/usr/share/pgstack-exporter/\nGrafana dashboards, Prometheus alert rules and their runbooks\n'
    printf '.SH SEE ALSO\n/usr/share/doc/pgstack-exporter/README.md.gz\n'
} | gzip -9n >"$STAGE"/usr/share/man/man1/pgstack_exporter.1.gz

# Step 5: the control files. Depends: the shared libraries the binary needs (libpq5 and the C
# runtime), as dpkg-shlibdeps finds them, and adduser for postinst.
shlibs_dir="$(mktemp -d)"
trap 'rm -rf "$shlibs_dir"' EXIT
mkdir "$shlibs_dir"/debian
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$NAME" "$NAME" >"$shlibs_dir"/debian/control
shlibs="$(cd "$shlibs_dir" && dpkg-shlibdeps -O -e"$ROOT/$STAGE/usr/bin/pgstack_exporter" 2>/dev/null)" ||
    die "dpkg-shlibdeps could not resolve the libraries of pgstack_exporter"
shlibs=${shlibs#shlibs:Depends=}
[[ $shlibs == *libpq5* ]] || die "dpkg-shlibdeps found no libpq5 dependency: '$shlibs'"
installed_size="$(du -sk --apparent-size --exclude=DEBIAN "$STAGE" | cut -f1)"
cat >"$STAGE"/DEBIAN/control <<CONTROL
Package: $NAME
Version: $DEB_VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $installed_size
Depends: $shlibs, adduser
Section: net
Priority: optional
Description: Prometheus exporter for PostgreSQL, its replicas and PgBouncer
 pgstack_exporter serves the metrics of PostgreSQL primaries, their streaming
 replicas and the PgBouncer poolers in front of them from one binary, with one
 long-lived connection per target and an answer within the scraper's deadline.
 .
 This package holds the binary, a hardened systemd unit (not enabled on
 install), an example configuration, Grafana dashboards, Prometheus alert
 rules and their runbooks.
CONTROL
printf '/etc/default/%s\n/etc/pgstack_exporter/pgstack.yml\n' "$NAME" >"$STAGE"/DEBIAN/conffiles
install -m 0755 "$SRC"/packaging/deb/postinst "$SRC"/packaging/deb/prerm "$SRC"/packaging/deb/postrm "$STAGE"/DEBIAN/
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$STAGE"/DEBIAN/md5sums
chmod 0644 "$STAGE"/DEBIAN/control "$STAGE"/DEBIAN/conffiles "$STAGE"/DEBIAN/md5sums

# Step 6: the .deb, owned by root whoever builds it.
DEB="dist/${NAME}_${DEB_VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
rm -rf "$STAGE"
if [[ $SRC == dist/src ]]; then rm -rf "$SRC"; fi
log "$DEB: $(numfmt --to=si --format=%.1f --suffix=B "$(stat -c %s "$DEB")"), binary $(numfmt --to=si --format=%.1f --suffix=B \
    "$(dpkg-deb --fsys-tarfile "$DEB" | tar -tvf - ./usr/bin/pgstack_exporter | awk '{print $3}')") stripped;" \
    "Depends: $shlibs, adduser; runbooks at $runbook_base"
[[ $run_test == 1 ]] || exit 0

# ---------------------------------------------------------------------------- --test
# Step 7: on any exit, stop the exporter, purge the package and bring the bed down.
export PGSTACK_TESTBED_DIR="${PGSTACK_PACKAGE_TESTBED_DIR:-/tmp/pgstack-testbed-pkg}"
exporter_pid="" installed=0 bed=0
exporter_log="$(mktemp)"
cleanup() {
    local rc=$?
    rm -rf "$shlibs_dir" "${lint_dir:-}"
    if [[ $rc -ne 0 && -s $exporter_log ]]; then
        log "the exporter's log (last 20 lines):"
        tail -n 20 "$exporter_log" >&2
    fi
    rm -f "$exporter_log"
    if [[ -n $exporter_pid ]]; then kill "$exporter_pid" 2>/dev/null || true; wait "$exporter_pid" 2>/dev/null || true; fi
    if [[ $installed == 1 ]]; then dpkg --purge "$NAME" >/dev/null 2>&1 || log "warning: dpkg --purge $NAME failed"; fi
    if [[ $bed == 1 ]]; then testbed_down_unless_kept; fi
    exit "$rc"
}
on_exit cleanup
fail() { log "test FAILED: $*"; exit 1; }
check() { log "ok: $*"; }

# Step 8: lintian, as nobody (it warns against root). The tags accepted are overridden, each
# with its reason, in packaging/deb/lintian-overrides; any other warning or error fails.
lint_dir="$(mktemp -d)"
cp "$DEB" "$lint_dir"/
chmod 0644 "$lint_dir"/*.deb && chown -R nobody:nogroup "$lint_dir"
# From the lint directory: nobody may not enter the checkout (CI clones into a 0700 directory).
(cd "$lint_dir" && setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME="$lint_dir" TMPDIR="$lint_dir" \
    lintian --fail-on error,warning "$lint_dir/$(basename "$DEB")") >&2 || fail "lintian"
rm -rf "$lint_dir"
check "lintian: no error or warning; overridden: $(grep -v '^#' packaging/deb/lintian-overrides | sed 's/^pgstack-exporter: //' | paste -sd';')"

# Step 9: install; the files, their owners and modes, the user.
dpkg -i "$DEB" >&2 || fail "dpkg -i $DEB"
installed=1
for path in /usr/bin/pgstack_exporter /lib/systemd/system/$NAME.service /etc/default/$NAME \
    /etc/pgstack_exporter/pgstack.yml /usr/share/$NAME/alerts/pgstack.rules.yml /usr/share/$NAME/runbooks.md \
    /usr/share/man/man1/pgstack_exporter.1.gz; do
    [[ -e $path ]] || fail "$path was not installed"
done
getent passwd "$NAME" >/dev/null || fail "no user $NAME after install"
[[ "$(stat -c '%a %U:%G' /etc/pgstack_exporter)" == "750 root:$NAME" ]] || fail "/etc/pgstack_exporter is $(stat -c '%a %U:%G' /etc/pgstack_exporter)"
[[ "$(stat -c '%a %U:%G' /etc/pgstack_exporter/pgstack.yml)" == "640 root:$NAME" ]] ||
    fail "/etc/pgstack_exporter/pgstack.yml is $(stat -c '%a %U:%G' /etc/pgstack_exporter/pgstack.yml)"
as_service() { setpriv --reuid="$NAME" --regid="$NAME" --init-groups --no-new-privs env HOME=/nonexistent "$@"; }
as_service /usr/bin/pgstack_exporter --config.file /etc/pgstack_exporter/pgstack.yml --config.check >&2 ||
    fail "$NAME cannot read or use the example config"
if setpriv --reuid=nobody --regid=nogroup --clear-groups cat /etc/pgstack_exporter/pgstack.yml >/dev/null 2>&1; then
    fail "another user can read /etc/pgstack_exporter/pgstack.yml"
fi
check "installed: files, user $NAME, config 0640 root:$NAME (its user reads it, nobody cannot)"

# Step 10: the unit, as systemd reads it, and its exposure score.
# It also opens the Documentation= manual page, where man is installed.
man_check=--man=yes
command -v man >/dev/null 2>&1 || { man_check=--man=no; log "note: no 'man' here; systemd-analyze verify skips the manual page"; }
systemd-analyze verify "$man_check" /lib/systemd/system/$NAME.service >&2 || fail "systemd-analyze verify"
check "systemd-analyze verify $man_check: $NAME.service"
systemd-analyze security --offline=true /lib/systemd/system/$NAME.service 2>&1 | tail -n 1 >&2 || true

# Step 11: the installed alert rules load and pass their tests with the links they carry.
promtool check rules /usr/share/$NAME/alerts/pgstack.rules.yml >/dev/null || fail "promtool check rules (installed copy)"
promtool test rules /usr/share/$NAME/alerts/pgstack.rules.test.yml >/dev/null || fail "promtool test rules (installed copy)"
grep -q "runbook_url: \"$runbook_base#postgresdown\"" /usr/share/$NAME/alerts/pgstack.rules.yml ||
    fail "the installed rules do not link $runbook_base#postgresdown"
check "installed alert rules: promtool check and test pass, links under $runbook_base"

# Step 12: --version, then the installed binary as its user against the test bed.
[[ "$(/usr/bin/pgstack_exporter --version)" == "$VERSION (revision $COMMIT, Swift $SWIFT_VERSION)" ]] ||
    fail "--version says '$(/usr/bin/pgstack_exporter --version)'"
check "--version: $(/usr/bin/pgstack_exporter --version)"
bed=1
testbed_up || fail "test bed up in $PGSTACK_TESTBED_DIR"
port="$(free_port)"
# Not through as_service: $! must be the exporter itself (setpriv and env exec it).
DATA_SOURCE_NAME=$PGSTACK_PRIMARY_DSN PGBOUNCER_DSN=$PGSTACK_PGBOUNCER_DSN \
    setpriv --reuid="$NAME" --regid="$NAME" --init-groups --no-new-privs env HOME=/nonexistent \
    /usr/bin/pgstack_exporter --web.listen-address "127.0.0.1:$port" 2>"$exporter_log" &
exporter_pid=$!
wait_port "$port" 30
metrics="$(curl -fsS --max-time 20 "http://127.0.0.1:$port/metrics")" || fail "curl /metrics"
for line in 'pg_up{target="postgres"} 1' 'pgbouncer_up{target="pgbouncer"} 1' \
    "pgstack_exporter_build_info{version=\"$VERSION\",revision=\"$COMMIT\",swift_version=\"$SWIFT_VERSION\"} 1"; do
    grep -qxF "$line" <<<"$metrics" || fail "/metrics has no line '$line'"
done
check "/usr/bin/pgstack_exporter as $NAME: pg_up 1, pgbouncer_up 1, build_info revision $COMMIT"
kill -TERM "$exporter_pid"
wait "$exporter_pid" || fail "the exporter exited with $? on SIGTERM"
exporter_pid=""

# Step 13: an admin enables the unit; purge must still leave nothing behind.
systemctl enable $NAME.service >/dev/null 2>&1 || log "note: systemctl enable failed here; purge checked without it"
dpkg --purge "$NAME" >&2 || fail "dpkg --purge $NAME"
installed=0
[[ "$(dpkg-query -W -f='${Status}' "$NAME" 2>/dev/null || true)" =~ ^(unknown ok not-installed)?$ ]] ||
    fail "dpkg still knows $NAME: $(dpkg-query -W -f='${Status}' "$NAME")"
left="$(find /etc /lib /usr /var/lib -name '*pgstack*' -not -path '/var/lib/postgresql/*' 2>/dev/null || true)"
[[ -z $left ]] || fail "left after purge: $left"
if getent passwd "$NAME" >/dev/null || getent group "$NAME" >/dev/null; then fail "user or group $NAME left after purge"; fi
check "purged: no file under /etc /lib /usr /var/lib, no user or group"
log "package test passed: $DEB"
