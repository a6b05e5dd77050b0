#!/bin/bash
# One device call (packed by pack.sh): resume G1 and G2 from the packed checkpoints, train both side
# by side on the GPU through the PyTorch back end for TRAIN_S seconds, and leave their best
# checkpoints and logs under $OUT, split in 15 MB parts (`cat result.tar.part-* | tar -x`).
# Session 6 ran it with TRAIN_S=510 in a 600 s call (setup and packing take about 40 s).
set -u
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
${INPAINT_PYTHON:-python3} -c "import torch, onnx, numpy; print('torch', torch.__version__, 'onnx', onnx.__version__, 'cuda', torch.cuda.is_available())" || exit 6
export INPAINT_ENGINE=torch
common=(--data $D/photos --vgg $D/vgg.pth --val-every ${VAL_EVERY:-100} --checkpoint-every ${VAL_EVERY:-100} --keep-last 1)
timeout -s TERM $TRAIN_S node bin/inpaint.mjs train g1 --out /tmp/runs/g1 --config training/g1-small/config.json \
  --resume-from /tmp/ck/ckpt/g1.ckpt --batch $G1_BATCH --lr-g ${G1_LR:-2e-4} --lr-d ${G1_LR:-2e-4} "${common[@]}" > $OUT/g1.log 2>&1 &
p1=$!
timeout -s TERM $TRAIN_S node bin/inpaint.mjs train g2 --out /tmp/runs/g2 --config training/g2-small/config.json \
  --resume-from /tmp/ck/ckpt/g2.ckpt --batch $G2_BATCH --lr-g ${G2_LR:-1e-4} --lr-d ${G2_LR:-1e-4} \
  --g1-mix 0.75 --g1-from /tmp/ck/ckpt/g1.ckpt "${common[@]}" > $OUT/g2.log 2>&1 &
p2=$!
while kill -0 $p1 2>/dev/null || kill -0 $p2 2>/dev/null; do
  sleep ${POLL_S:-45}
  say "g1: $(tail -c 2000 $OUT/g1.log | tr '\r' '\n' | grep -v '^$' | tail -2 | tr '\n' ' ')"
  say "g2: $(tail -c 2000 $OUT/g2.log | tr '\r' '\n' | grep -v '^$' | tail -2 | tr '\n' ' ')"
  say "gpu: $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null)"
done
wait $p1; r1=$?; wait $p2; r2=$?
say "trainers exited: g1 $r1, g2 $r2"
tail -5 $OUT/g1.log; tail -5 $OUT/g2.log
cd /tmp/runs && ls -la g1 g2
tar -cf /tmp/result.tar g1/best.ckpt g2/best.ckpt g1/log.jsonl g2/log.jsonl g1/config.json g2/config.json 2>/dev/null
split -b 15M /tmp/result.tar $OUT/result.tar.part-
say "done: $(ls -la $OUT | tail -n +2 | awk '{print $5, $9}' | tr '\n' ' ')"
