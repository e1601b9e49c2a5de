#!/usr/bin/env bash
# Everything issue 8 asks to run on a GPU, in one go, with the Python that already has CuPy
# (and PyTorch, for the reference column): no install, no network (plainnet runs from src/).
#
#     bash benchmarks/run_on_gpu.sh            # logs under $OUT, or gpu-results/
#
# 1. the GPU tests (results equal the CPU's; no fused kernel fell back),
# 2. every fused kernel as CuPy writes it: compiled by nvcc against CuPy's headers, and run
#    on the CPU with the arguments a training run gives it,
# 3. the throughput benchmark against PyTorch CUDA eager (JSON too),
# 4. where the host's time goes on the small network (cProfile): the bare loop, and pn.fit
#    with a CUDA graph.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-results}
mkdir -p "$out"
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
python=${PYTHON:-python3}
status=0
step() {  # step NAME COMMAND...: run, keep its output in $out/NAME.log, remember a failure
    local name=$1; shift
    echo "== $name: $*"
    "$@" 2>&1 | tee "$out/$name.log" || status=1
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$out/gpu.log"
"$python" -c "import cupy, numpy; print('CuPy', cupy.__version__, 'NumPy', numpy.__version__)" \
    2>&1 | tee -a "$out/gpu.log"
step test_gpu "$python" -m pytest -p no:cacheprovider -q -rs -m gpu tests/test_gpu.py
step compile "$python" -m pytest -p no:cacheprovider -q -rs tests/test_kernels.py \
    -k "as_cupy_writes_it or compiles_as_cuda"
step bench_gpu "$python" benchmarks/bench_gpu.py --json "$out/bench_gpu.json"
step profile "$python" benchmarks/bench_gpu.py --profile small-1024
step profile_graph "$python" benchmarks/bench_gpu.py --profile small-1024 --runner graph
exit $status
