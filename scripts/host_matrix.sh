#!/usr/bin/env bash
# Host independence on one machine: run the whole test suite under each BLAS kernel family that
# numpy's OpenBLAS can select (OPENBLAS_CORETYPE) and each OpenBLAS thread count, plus once with
# numpy's own AVX-512 loops switched off (hosts without AVX-512 run its AVX2 loops), and print a
# table of what each run used and what failed. A test that passes here on every row asserts what
# holds on any x86-64 host, not the last bits of one host's rounding.
#
#   scripts/host_matrix.sh                     # the full matrix (about 1.5 minutes a row on 2 cores)
#   CORES="SkylakeX Zen" THREADS=1 scripts/host_matrix.sh tests/optim   # a part of it
#
# Logs go to out/host_matrix/. CI runs the plain `make test`; this script is for a developer.
set -u
cd "$(dirname "$0")/.."
make -s setup graphviz >/dev/null || exit 1
PY=.venv/bin/python
CORES=${CORES:-"Haswell SkylakeX Zen Sandybridge Prescott"}
THREADS=${THREADS:-"1 2"}
NUMPY_AVX2=${NUMPY_AVX2:-1}
LOGS=out/host_matrix
mkdir -p "$LOGS"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(tests)

rows=()
status=0

run_row() {  # run_row NAME ENV...: the suite under the given environment
    local name=$1
    shift
    local log="$LOGS/$name.log"
    local kernel
    kernel=$(env -u OPENBLAS_L2_SIZE "$@" $PY -c "
import numpy
from threadpoolctl import threadpool_info
print(','.join(sorted({i.get('architecture') or '?' for i in threadpool_info() if i['internal_api'] == 'openblas'})))")
    local start=$SECONDS
    env -u OPENBLAS_L2_SIZE "$@" $PY -m pytest -n 2 -p no:cacheprovider -rf "${targets[@]}" >"$log" 2>&1
    local rc=$?
    local summary
    summary=$(grep -E "^[0-9]+ (passed|failed)|(passed|failed).* in [0-9.]+s" "$log" | tail -n 1 | sed 's/=//g')
    local failed
    failed=$(grep -E "^FAILED" "$log" | sed -e 's/^FAILED //' -e 's/ - .*//' | tr '\n' ' ')
    rows+=("| $name | $kernel | $summary | $((SECONDS - start)) s | ${failed:-none} |")
    [ $rc -eq 0 ] || status=1
}

unset OPENBLAS_CORETYPE
for core in $CORES; do
    for threads in $THREADS; do
        run_row "coretype-$core-threads-$threads" OPENBLAS_CORETYPE="$core" OPENBLAS_NUM_THREADS="$threads"
    done
done
if [ "$NUMPY_AVX2" = 1 ]; then
    # numpy's ufunc loops (sum, exp, tanh ...) without their AVX-512 versions, as on a host without AVX-512
    run_row "numpy-avx2-loops" NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"
fi

echo
echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo
echo "| run | OpenBLAS kernel | result | time | failed |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
exit $status
