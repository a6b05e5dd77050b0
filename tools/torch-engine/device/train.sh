#!/bin/bash
# One device call (packed by pack.sh): resume G1 and G2 from the packed checkpoints, train both side
# by side on the GPU through the PyTorch back end for TRAIN_S seconds, and leave their best
# checkpoints (weights only) and logs under $OUT, split in 15 MB parts
# (`cat result.tar.xz.part-* | xz -d | tar -x`).
# Session 6 ran it with TRAIN_S=510 in a 600 s call (setup and packing take about 40 s).
# TASKS=guide trains a feature guide from scratch instead, of GUIDE_WIDTH channels and GUIDE_BLOCKS
# blocks (default 192 and 12, larger than the shipped 96 and 8: docs/decisions/feature-guide.md,
# "What is left"), batch GUIDE_BATCH; `inpaint export --guide guide/best.ckpt` bundles the result.
# INPAINT_ENGINE=onnxruntime runs either on the CPU, to try the script where there is no GPU.
set -u
TASKS=${TASKS:-g1,g2}
TRAIN_S=${TRAIN_S:-420}
G1_BATCH=${G1_BATCH:-16}
G2_BATCH=${G2_BATCH:-8}
D=.device
T0=$(date +%s)
say() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
mkdir -p /tmp/bin /tmp/ck /tmp/runs
xz -dc $D/node.xz > /tmp/bin/node && chmod +x /tmp/bin/node || exit 3
export PATH=/tmp/bin:$PATH
xz -dc $D/modules.tar.xz | tar -xf - node_modules || exit 4
xz -dc $D/ckpt.tar.xz | tar -xf - -C /tmp/ck || exit 5
say "node $(node -v); $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null)"
export INPAINT_ENGINE=${INPAINT_ENGINE:-torch}
if [ "$INPAINT_ENGINE" = torch ]; then
  ${INPAINT_PYTHON:-python3} -c "import torch, onnx, numpy; print('torch', torch.__version__, 'onnx', onnx.__version__, 'cuda', torch.cuda.is_available())" || exit 6
fi
common=(--data $D/photos --vgg $D/vgg.pth --val-every ${VAL_EVERY:-100} --checkpoint-every ${VAL_EVERY:-100} --keep-last 1)
case $TASKS in
  g1,g2)
    names=(g1 g2)
    timeout -s TERM $TRAIN_S node bin/inpaint.mjs train g1 --out /tmp/runs/g1 --config training/g1-small/config.json \
      --resume-from /tmp/ck/ckpt/g1.ckpt --batch $G1_BATCH --lr-g ${G1_LR:-2e-4} --lr-d ${G1_LR:-2e-4} "${common[@]}" > $OUT/g1.log 2>&1 &
    pids=($!)
    timeout -s TERM $TRAIN_S node bin/inpaint.mjs train g2 --out /tmp/runs/g2 --config training/g2-small/config.json \
      --resume-from /tmp/ck/ckpt/g2.ckpt --batch $G2_BATCH --lr-g ${G2_LR:-1e-4} --lr-d ${G2_LR:-1e-4} \
      --g1-mix 0.75 --g1-from /tmp/ck/ckpt/g1.ckpt "${common[@]}" > $OUT/g2.log 2>&1 &
    pids+=($!) ;;
  guide)
    names=(guide)
    echo "{\"model\": {\"preset\": \"small\", \"guide\": {\"width\": ${GUIDE_WIDTH:-192}, \"blocks\": ${GUIDE_BLOCKS:-12}}}}" > /tmp/guide.json
    timeout -s TERM $TRAIN_S node bin/inpaint.mjs train guide --out /tmp/runs/guide --config /tmp/guide.json --steps 1000000 \
      --batch ${GUIDE_BATCH:-16} --lr-g ${GUIDE_LR:-5e-4} "${common[@]}" > $OUT/guide.log 2>&1 &
    pids=($!) ;;
  *) echo "TASKS must be g1,g2 or guide, not $TASKS"; exit 2 ;;
esac
running() { for p in "${pids[@]}"; do kill -0 $p 2>/dev/null && return 0; done; return 1; }
while running; do
  sleep ${POLL_S:-45}
  for n in "${names[@]}"; do say "$n: $(tail -c 2000 $OUT/$n.log | tr '\r' '\n' | grep -v '^$' | tail -2 | tr '\n' ' ')"; done
  say "gpu: $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null)"
done
codes=(); for p in "${pids[@]}"; do wait $p; codes+=($?); done
say "trainers exited: ${names[*]}: ${codes[*]}"
for n in "${names[@]}"; do tail -5 $OUT/$n.log; done
# Only the weights come back: Adam's two moments would triple a checkpoint (the default guide's
# best.ckpt is 98 MB with them), past the 64 MiB a call returns; zeroed, xz takes them to nothing.
for n in "${names[@]}"; do
  f=/tmp/runs/$n/best.ckpt
  [ -f $f ] && node --import tsx tools/torch-engine/device/zero-adam.ts $f $f
done
cd /tmp/runs && ls -la "${names[@]}"
files=(); for n in "${names[@]}"; do files+=($n/best.ckpt $n/log.jsonl $n/config.json); done
tar -cf - "${files[@]}" 2>/dev/null | xz -3 -T0 > /tmp/result.tar.xz
split -b 15M /tmp/result.tar.xz $OUT/result.tar.xz.part-
say "done: $(ls -la $OUT | tail -n +2 | awk '{print $5, $9}' | tr '\n' ' ')"
