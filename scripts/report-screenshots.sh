#!/usr/bin/env bash
# Regenerates the screenshots of docs/report.md (docs/images/report-*.png): two tiny runs (a
# baseline and a norm-free variant) with two seeds each, their report, and headless Chromium.
# Usage: scripts/report-screenshots.sh [BUILD_DIR]   (default: build; needs chromium, python3)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$root/build}/entropix"
images="$root/docs/images"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$images"

tiny=(--set model.n_embd=32 --set model.n_layer=3 --set model.context=16 --set train.steps=60 --set train.eval_every=10
      --set log.entropy_every=10 --set log.every=5 --set train.batch_size=4 --set train.eval_batches=2
      --set train.lr=0.02 --set train.warmup=5 --quiet)
variant=(--set name=norm-free --set model.norm=none --set model.activation=relu)
for seed in 1 2; do
  "$bin" run "$root/experiments/smoke.yaml" "${tiny[@]}" --set seed=$seed --out "$work/baseline-s$seed"
  "$bin" run "$root/experiments/smoke.yaml" "${tiny[@]}" "${variant[@]}" --set seed=$seed --out "$work/norm-free-s$seed"
done
"$bin" report "$work/baseline-s1" "$work/norm-free-s1" --out "$work/report"
"$bin" report "$work/baseline-s1" "$work/baseline-s2" "$work/norm-free-s1" "$work/norm-free-s2" \
  --group-by seed --out "$work/grouped"

shoot() {  # shoot OUT.png WIDTH HEIGHT FILE
  timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$work/profile" --screenshot="$1" \
    --window-size="$2,$3" "file://$4" 2>/dev/null
}
# A page of several standalone figures side by side (the figures' own SVG files).
page() {  # page OUT.html FIGURE.svg...
  local out="$1"; shift
  { echo '<!DOCTYPE html><html><body style="margin:8px;background:#fff;display:flex;flex-wrap:wrap;gap:12px">'
    for f in "$@"; do echo "<img src=\"$f\">"; done
    echo '</body></html>'; } >"$out"
}
shoot "$images/report-top.png" 1500 640 "$work/report/index.html"
page "$work/headwise.html" "$work/report/headwise-1.svg" "$work/report/headwise-2.svg"
shoot "$images/report-headwise.png" 560 560 "$work/headwise.html"
page "$work/layerwise.html" "$work/report/layerwise-2.svg" "$work/report/entropy-layer-0.svg"
shoot "$images/report-layerwise.png" 1360 360 "$work/layerwise.html"
page "$work/training.html" "$work/report/train-loss.svg" "$work/report/lr.svg" "$work/report/grad-norm.svg" \
  "$work/report/tokens-per-s.svg"
shoot "$images/report-training.png" 1500 690 "$work/training.html"
page "$work/grouped.html" "$work/grouped/train-loss.svg" "$work/grouped/entropy-layer-2.svg"
shoot "$images/report-group-by.png" 1600 360 "$work/grouped.html"
ls -l "$images"/report-*.png
