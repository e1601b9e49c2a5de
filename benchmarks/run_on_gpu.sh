#!/usr/bin/env bash
# Everything issue 8 asks to run on a GPU, in one go, with the Python that already has CuPy
# (and PyTorch, for the reference column): no install, no network (plainnet runs from src/).
#
#     bash benchmarks/run_on_gpu.sh            # logs under $OUT, or gpu-results/
#     STEPS="test_gpu bench_gpu" bash benchmarks/run_on_gpu.sh    # only some steps
#
# 1. test_gpu: the GPU tests (results equal the CPU's; no fused kernel fell back), spread over
#    CPU processes (CuPy compiles each kernel on first use: that is CPU time),
# 2. bench_gpu: the throughput benchmark against PyTorch CUDA eager (JSON too),
# 3. gemm: the matrix products a recorded step makes (cuBLAS called by plainnet) against
#    CuPy's own, alone and launched from a graph,
# 4. profile, profile_graph: where the host's time goes on the small network (cProfile): the
#    bare loop, and pn.fit with a CUDA graph.
# The fused kernels as CuPy writes them are compiled by nvcc in CI already (tests/test_kernels.py),
# so no device time goes to that. Each step has a time limit, so that one hang cannot use up a
# lease; each step's log is written under $OUT as it runs.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-results}
mkdir -p "$out"
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 MPLBACKEND=Agg
python=${PYTHON:-python3}
steps=${STEPS:-test_gpu bench_gpu gemm profile profile_graph}
status=0
step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to $out/NAME.log
    local name=$1 limit=$2; shift 2
    case " $steps " in *" $name "*) ;; *) return 0 ;; esac
    echo "== $name ($(date +%T), at most ${limit}s): $*"
    local rc=0
    timeout "$limit" "$@" > "$out/$name.log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        status=1
        echo "!! $name failed (exit $rc$([ "$rc" -eq 124 ] && echo ': time limit'))"
    fi
    tail -n "${TAIL:-25}" "$out/$name.log"
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$out/gpu.log"
"$python" -c "import cupy, numpy; print('CuPy', cupy.__version__, 'NumPy', numpy.__version__)" \
    2>&1 | tee -a "$out/gpu.log"
step test_gpu "${TEST_LIMIT:-300}" "$python" -m pytest -p no:cacheprovider -q -rs -m gpu \
    -n "${WORKERS:-8}" tests/test_gpu.py
step bench_gpu "${BENCH_LIMIT:-240}" "$python" benchmarks/bench_gpu.py --json "$out/bench_gpu.json"
step gemm 60 "$python" benchmarks/bench_recorded_gemm.py
step profile 60 "$python" benchmarks/bench_gpu.py --profile small-1024
step profile_graph 60 "$python" benchmarks/bench_gpu.py --profile small-1024 --runner graph
echo "== end $(date +%T), status $status"
exit $status
