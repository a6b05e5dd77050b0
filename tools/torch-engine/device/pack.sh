#!/bin/bash
# Builds .device/ (git-ignored) for one training call on a lent GPU machine that has PyTorch but no
# Node and takes at most 64 MiB per call: a stripped Node binary, the runtime packages, the committed
# checkpoints with Adam zeroed, photo copies at 400 px, the VGG weights and train.sh. About 62 MB.
# Usage, from the repository root: tools/torch-engine/device/pack.sh [PHOTOS] [VGG]
# Then, for the call, move docs/, models/ and training/*/latest.ckpt out of the tree (the tracked
# tree is larger than the limit), run `TRAIN_S=510 bash .device/train.sh` with carry [".device"]
# and a 600 s limit, and put them back.
set -euo pipefail
PHOTOS=${1:-../shared/data/photos}
VGG=${2:-../shared/models/vgg_normalised_conv3_1.pth}
D=.device
HERE=tools/torch-engine/device
rm -rf "$D" && mkdir -p "$D/ckpt"
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
strip --strip-all -o "$D/node" "$(command -v node)" && xz -9 -T0 "$D/node"
tar -cf - --exclude=node_modules/protobufjs/cli --exclude=node_modules/protobufjs/dist \
  node_modules/tsx node_modules/esbuild node_modules/@esbuild/linux-x64 node_modules/sharp node_modules/@img \
  node_modules/detect-libc node_modules/semver node_modules/onnx-proto node_modules/protobufjs \
  node_modules/@protobufjs node_modules/long node_modules/@types/long | xz -6 -T0 > "$D/modules.tar.xz"
for net in g1 g2; do npx tsx "$HERE/zero-adam.ts" "training/$net-small/latest.ckpt" "$D/ckpt/$net.ckpt"; done
tar -C "$D" -cf - ckpt | xz -6 -T0 > "$D/ckpt.tar.xz" && rm -r "$D/ckpt"
npx tsx "$HERE/shrink-photos.ts" "$PHOTOS" "$D/photos" 400
cp "$VGG" "$D/vgg.pth"
cp "$HERE/train.sh" "$D/train.sh"
du -sh "$D"
