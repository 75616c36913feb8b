#!/usr/bin/env bash
# scripts/fuzz.sh — builds the libFuzzer targets of Fuzz/ and runs each for a bounded time, for CI:
# the parsers of untrusted input (durations, DSNs, the config file) and the encoder must never trap or leak.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/fuzz.sh [TARGET...]     (default: every target in Fuzz/corpus)

Builds each target in .build-fuzz with -Xswiftc -sanitize=fuzzer, runs it on a temporary copy
of Fuzz/corpus/TARGET (the repository is never written), prints one line per target and exits
non-zero if any crashed, failed a check or timed out, printing the input as hex. After
FuzzTextEncoder runs, the texts it encodes from a few hundred of its inputs must parse with
`promtool check metrics` (lint warnings are fine, parse errors are not).

Environment:
  PGSTACK_FUZZ_SECONDS   seconds per target (default 30; with PGSTACK_FUZZ_RUNS, the most it may take)
  PGSTACK_FUZZ_RUNS      inputs per target instead of a time (CI: 60,000 from the fixed seed, a
                         bounded run that varies little between machines; an input a run finds
                         becomes a corpus case)
  PGSTACK_FUZZ_SEED      libFuzzer's seed (default 1)
  PGSTACK_FUZZ_CONFIG    debug (default) or release
  PGSTACK_FUZZ_DUMPS     FuzzTextEncoder inputs whose texts promtool checks (default 300)
  PGSTACK_FUZZ_KEEP=1    keep the temporary directory (grown corpora, logs); kept anyway on failure

Reproduce a failure: .build-fuzz/debug/TARGET FILE (a plain `swift build` of a target replays
files too, without libFuzzer).
EOF
}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seconds=${PGSTACK_FUZZ_SECONDS:-30}
runs_wanted=${PGSTACK_FUZZ_RUNS:-}
seed=${PGSTACK_FUZZ_SEED:-1}
config=${PGSTACK_FUZZ_CONFIG:-debug}
dumps=${PGSTACK_FUZZ_DUMPS:-300}
scratch=.build-fuzz

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    usage
    exit 0
fi
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    targets=()
    for dir in Fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi
for target in "${targets[@]}"; do
    if [[ ! -d Fuzz/$target || ! -d Fuzz/corpus/$target ]]; then
        echo "fuzz.sh: no target $target (expected Fuzz/$target and Fuzz/corpus/$target)" >&2
        exit 2
    fi
done
if [[ " ${targets[*]} " == *" FuzzTextEncoder "* ]] && ! command -v promtool > /dev/null; then
    echo "fuzz.sh: promtool is needed to check FuzzTextEncoder's texts (Debian: apt-get install prometheus)" >&2
    exit 2
fi

started=$(now_ms)

work=$(mktemp -d "${TMPDIR:-/tmp}/pgstack-fuzz.XXXXXX")
failed=()
cleanup() {
    if [[ ${#failed[@]} -eq 0 && ${PGSTACK_FUZZ_KEEP:-0} != 1 ]]; then
        rm -rf "$work"
    else
        echo "fuzz.sh: logs and corpora kept in $work" >&2
    fi
}
trap cleanup EXIT

# One build at a time (two cores); the first also builds the dependencies.
for target in "${targets[@]}"; do
    start=$(now_ms)
    if ! swift build --scratch-path "$scratch" -c "$config" --product "$target" -Xswiftc -sanitize=fuzzer \
        > "$work/build-$target.log" 2>&1; then
        tail -n 40 "$work/build-$target.log" >&2
        echo "$target: BUILD FAILED (log: $work/build-$target.log)"
        failed+=("$target")
        exit 1
    fi
    echo "built $target in $(fmt_ms $(($(now_ms) - start)))"
done
bin="$PWD/$scratch/$config"

# final_stat NAME LOG: a value from libFuzzer's -print_final_stats.
final_stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

# report_failure TARGET DIR LOG: what libFuzzer said, and each input it saved, as hex.
report_failure() {
    local target=$1 dir=$2 log=$3 artifact
    grep -m 5 -E 'fuzz check failed|Fatal error|ERROR: libFuzzer|ERROR: AddressSanitizer|SUMMARY|runtime error' "$log" \
        | sed "s/^/    /" || true
    for artifact in "$dir"/crash-* "$dir"/timeout-* "$dir"/oom-* "$dir"/leak-* "$dir"/slow-unit-*; do
        [[ -f $artifact ]] || continue
        echo "    input $(basename "$artifact") ($(wc -c < "$artifact") bytes), hex:"
        od -An -v -tx1 "$artifact" | tr -d ' \n' | fold -w 96 | sed 's/^/      /'
        echo
    done
    if ! compgen -G "$dir/crash-*" > /dev/null && ! compgen -G "$dir/timeout-*" > /dev/null \
        && ! compgen -G "$dir/oom-*" > /dev/null; then
        echo "    (no input saved: a seed of Fuzz/corpus/$target fails; replay them one by one:"
        echo "     for f in Fuzz/corpus/$target/*; do $scratch/$config/$target \"\$f\" > /dev/null 2>&1 || echo \"\$f\"; done)"
    fi
    echo "    full log: $log"
}

# check_encoder_texts DIR: the texts of up to $dumps inputs of the grown corpus must parse.
check_encoder_texts() {
    local dir=$1 texts=$1/texts count=0 bad=0 text rc
    mkdir -p "$texts"
    # Given files (not a directory), libFuzzer runs each once instead of fuzzing. (xargs gives
    # the target /dev/null as stdin.)
    find "$dir/corpus" -type f | sort > "$dir/corpus.list"
    head -n "$dumps" "$dir/corpus.list" > "$dir/dump.list"
    if ! (cd "$dir" && FUZZ_DUMP_DIR="$texts" SWIFT_BACKTRACE=enable=no xargs -r "$bin/FuzzTextEncoder" < dump.list) \
        > "$dir/dump.log" 2>&1; then
        echo "FuzzTextEncoder/promtool: FAILED, replaying the corpus crashed (log: $dir/dump.log)"
        return 1
    fi
    for text in "$texts"/*.prom; do
        [[ -f $text ]] || continue
        count=$((count + 1))
        rc=0
        promtool check metrics < "$text" > /dev/null 2> "$text.err" || rc=$?
        # 0: fine; 3: lint only (no HELP, unit suffixes); anything else: the text does not parse.
        if [[ $rc -ne 0 && $rc -ne 3 ]]; then
            bad=$((bad + 1))
            if [[ $bad -le 3 ]]; then
                echo "    promtool (exit $rc) on $text: $(head -c 300 "$text.err")"
                echo "    text, hex: $(head -c 600 "$text" | od -An -v -tx1 | tr -d ' \n')"
            fi
        fi
    done
    if [[ $count -eq 0 ]]; then
        echo "FuzzTextEncoder/promtool: FAILED, no text was written"
        return 1
    fi
    if [[ $bad -gt 0 ]]; then
        echo "FuzzTextEncoder/promtool: FAILED, $bad of $count texts do not parse"
        return 1
    fi
    echo "FuzzTextEncoder/promtool: ok, all $count distinct texts (from up to $dumps inputs) parse"
}

for target in "${targets[@]}"; do
    dir="$work/$target"
    mkdir -p "$dir/corpus"
    cp -R "Fuzz/corpus/$target/." "$dir/corpus/"
    seeds=$(find "$dir/corpus" -type f | wc -l)
    args=(-max_total_time="$seconds" -seed="$seed" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/")
    if [[ -n $runs_wanted ]]; then args+=(-runs="$runs_wanted"); fi
    if [[ -f Fuzz/dict/$target.dict ]]; then args+=(-dict="$PWD/Fuzz/dict/$target.dict"); fi
    rc=0
    # In the temporary directory (relative paths in inputs land there), with no stdin, and
    # without Swift's backtracer, which would take the crash from libFuzzer (no input saved).
    (cd "$dir" && SWIFT_BACKTRACE=enable=no SWIFT_DETERMINISTIC_HASHING=1 "$bin/$target" "${args[@]}" corpus) \
        > "$dir/fuzz.log" 2>&1 < /dev/null || rc=$?
    runs=$(final_stat number_of_executed_units "$dir/fuzz.log")
    speed=$(final_stat average_exec_per_sec "$dir/fuzz.log")
    coverage=$( (grep -oE 'cov: [0-9]+' "$dir/fuzz.log" || true) | tail -n 1 | cut -d' ' -f2)
    inputs=$(find "$dir/corpus" -type f | wc -l)
    if [[ $rc -ne 0 ]] || compgen -G "$dir/crash-*" > /dev/null; then
        echo "$target: FAILED (exit $rc) after ${runs:-0} runs"
        report_failure "$target" "$dir" "$dir/fuzz.log"
        failed+=("$target")
        continue
    fi
    echo "$target: ok, ${runs:-?} runs (${speed:-?} exec/s), coverage ${coverage:-?}, corpus $seeds -> $inputs inputs"
    if [[ $target == FuzzTextEncoder ]] && ! check_encoder_texts "$dir"; then
        failed+=("$target/promtool")
    fi
done

took=$(fmt_ms $(($(now_ms) - started)))
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz.sh: FAILED: ${failed[*]} ($took)"
    exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets passed ($took)"
