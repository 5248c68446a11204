#!/usr/bin/env bash
# Parallel tempering across MPI ranks against threads (issue 19): wall time of
#   logz --threads 2 sample MODEL -a pt …                      (1 process, 2 threads)
#   mpirun -np 2 --bind-to none logz --threads 1 sample …      (2 ranks, 1 thread each)
# for exchanges every sweep and every 20 sweeps, on square:32, square:64 and square:128 (more
# compute per exchange: the replicas run the multi-spin kernel, ~2-3 µs per 32² sweep, so small
# lattices are dominated by synchronisation and by mpirun's start-up); checks that both
# print the same JSON (timings removed) and prints efficiency = t(1 process) / t(2 ranks).
#
# Run on a quiet machine:   scripts/measure_pt.sh
# Knobs (environment):      REPEATS=2  KERNELS="auto"  (add "generic" to time the old kernel too)
#                           SWEEPS=3000  MODELS="square:32 square:64 square:128"  SKIP_BUILD=1
set -euo pipefail
cd "$(dirname "$0")/.."

REPEATS=${REPEATS:-2}
KERNELS=${KERNELS:-auto}
SWEEPS=${SWEEPS:-3000}
MODELS=${MODELS:-"square:32 square:64 square:128"}
BIN=${CARGO_TARGET_DIR:-target}/release/logz

command -v mpirun >/dev/null || {
    echo "mpirun not found: sudo apt-get install -y libopenmpi-dev openmpi-bin libclang-dev" >&2
    exit 1
}
command -v python3 >/dev/null || { echo "python3 is needed to compare the JSON" >&2; exit 1; }
if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release --features mpi -p logz-cli
fi
# Open MPI refuses root without these (containers); harmless otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# wall seconds of a command (stdout to $1)
timed() {
    local out=$1
    shift
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >"$out"
    t1=$(date +%s.%N)
    python3 -c "print(f'{$t1 - $t0:.3f}')"
}

# the JSON without its timings, canonical
strip() {
    python3 - "$1" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
def s(x):
    if isinstance(x, dict):
        return {k: s(w) for k, w in x.items() if k not in ("seconds", "flip_attempts_per_ns")}
    if isinstance(x, list):
        return [s(w) for w in x]
    return x
print(json.dumps(s(v), sort_keys=True))
EOF
}

echo "machine: $(nproc) cores; $(uptime)"
echo "mpirun: $(mpirun --version 2>/dev/null | head -1)"
# What every 2-rank time below includes besides the work: starting 2 ranks and MPI_Init.
startup=$(timed "$tmp/v.txt" mpirun -np 2 --bind-to none "$BIN" --threads 1 solve square:4 --json)
echo "mpirun -np 2 logz solve square:4 (start-up floor): ${startup} s wall"
echo
rows=()
for model in $MODELS; do
    for kernel in $KERNELS; do
        for every in 1 20; do
            args=(sample "$model" -a pt --replicas 16 --chains 2 --sweeps "$SWEEPS"
                --exchange-every "$every" --kernel "$kernel" --json)
            t1s=() t2s=() effs=()
            for r in $(seq "$REPEATS"); do
                a=$(timed "$tmp/one.json" "$BIN" --threads 2 "${args[@]}")
                b=$(timed "$tmp/two.json" mpirun -np 2 --bind-to none "$BIN" --threads 1 "${args[@]}")
                if [ "$(strip "$tmp/one.json")" != "$(strip "$tmp/two.json")" ]; then
                    echo "MISMATCH: $model --exchange-every $every --kernel $kernel, repeat $r:" \
                        "2 ranks printed other numbers than 1 process" >&2
                    exit 1
                fi
                used=$(python3 -c "import json; print(json.load(open('$tmp/one.json'))['kernel'])")
                t1s+=("$a") t2s+=("$b")
                effs+=("$(python3 -c "print(f'{$a / $b:.2f}')")")
                echo "  $model every $every kernel $kernel ($used) repeat $r: 1 process ${a} s," \
                    "2 ranks ${b} s, same JSON"
            done
            range() { printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd'-' | sed 's/^\([^-]*\)-\1$/\1/'; }
            rows+=("| \`sample $model -a pt --replicas 16 --chains 2 --sweeps $SWEEPS --exchange-every $every\` | $used | $(range "${t1s[@]}") s | $(range "${t2s[@]}") s | $(range "${effs[@]}") |")
        done
    done
done
echo
echo "wall time, $REPEATS repeats (min-max); efficiency = t(1 process, 2 threads) / t(2 ranks x 1 thread)"
echo "load after: $(uptime)"
echo
echo "| run (\`--bind-to none\`) | kernel | 1 process, 2 threads | 2 ranks × 1 thread | efficiency |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
