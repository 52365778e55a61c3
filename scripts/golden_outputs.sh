#!/usr/bin/env bash
# Runs a fixed set of commands and prints the SHA-256 of every results file and stdout,
# so a refactor can be checked byte for byte: run it before and after, then compare the two
# folders with scripts/compare_golden.py (it also masks what varies between identical runs).
# Usage: scripts/golden_outputs.sh OUTDIR   (LPZ="python -m lpzero_gp" to pick the code;
# LLAMA_SYNTAX=flags for the older --model/--dtype flags, default space-option).
set -euo pipefail
out=${1:?usage: golden_outputs.sh OUTDIR}
lpz=${LPZ:-lpzero-gp}
mkdir -p "$out"
llama() {  # llama space settings in whichever spelling the code takes
  if [ "${LLAMA_SYNTAX:-space-option}" = flags ]; then echo "--model $1";
  else echo "--space-option model=$1"; fi
}
q=--quiet
step() {  # step NAME CMD...: runs CMD with stdout to NAME.stdout, once (a rerun skips done steps)
  local name=$1; shift
  [ -f "$out/.$name.done" ] && return 0
  "$@" > "$out/$name.stdout"
  touch "$out/.$name.done"
}
step run_flex $lpz run $q --out "$out/run_flex"
step run_gpt2 $lpz run $q --space gpt2 --budget quick --search-archs 12 --heldout 6 --batch-size 4 \
  --out "$out/run_gpt2"
step eval_flex $lpz eval $q --archs 8 --proxy params --proxy flexibert-best --proxy paper_bert \
  --proxy "agg_mean(l1(G))" --ci
step eval_gpt2 $lpz eval $q --space gpt2 --archs 6 --proxy params --proxy gpt2-best \
  --proxy "agg_sum(fro(A))"
step base_gpt2 $lpz baselines $q --space gpt2 --archs 3 --out "$out/base_gpt2"
step base_flex $lpz baselines $q --archs 3 --batch-size 2 --seq-len 64 --trees --out "$out/base_flex"
step ablate $lpz ablate $q --experiments rps,population,n_unary --seeds 1 --evaluations 24 \
  --population 8 --offspring 8 --populations 4,8 --n-unary-values 1,2 \
  --search-archs 12 --heldout 8 --out "$out/ablate"
step sub_tiny_paper $lpz subnets $q $(llama tiny) --generations 2 --population 4 --out "$out/sub_tiny_paper" \
  --proxy paper_llama
step sub_tiny_g $lpz subnets $q $(llama tiny) --generations 2 --population 4 --out "$out/sub_tiny_g" \
  --proxy "agg_mean(l1(G))"
step sub_smol $lpz subnets $q $(llama smollm2) --generations 1 --population 3 --seq-len 32 --batch-size 2 \
  --proxy params --out "$out/sub_smol"
step eval_llama $lpz eval $q --space llama --archs 6 --proxy params --proxy "agg_mean(l1(G))"
step export_latex $lpz export --proxy flexibert-best --format latex
step export_sympy $lpz export --proxy gpt2-best --format sympy
step export_json $lpz export --proxy "agg_sum(fro(mul(G, abslog(W))))" --format json
cd "$out" && find . -type f ! -name hashes.txt ! -name ".*.done" | sort | xargs sha256sum > hashes.txt
