#!/usr/bin/env bash
# make compare-pytorch: train the study's network with PyTorch and with
# simdmlp on the same data, batch, optimizer and thread count, and print
# seconds per epoch of each and the ratio. See bench/doc.go.
#
# Settings (environment): EPOCHS (2), BATCHES ("16 100"), OPTS ("sgd adam"),
# THREADS (1), SIMDMLP_DATA (Fashion-MNIST IDX directory), PYTHON (Debian's
# /usr/bin/python3, which has python3-torch), GO (go), KEEP=1 to keep the
# results directory.
set -euo pipefail

EPOCHS=${EPOCHS:-2}
BATCHES=${BATCHES:-16 100}
OPTS=${OPTS:-sgd adam}
THREADS=${THREADS:-1}
GO=${GO:-go}
ALT=libblas.so.3-x86_64-linux-gnu
OPENBLAS_LIBBLAS=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3

cd "$(dirname "$0")/.."

# Debian's python3-torch lives in the system Python, which a pyenv or venv
# python3 on PATH would hide.
if [ -z "${PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi

have_torch() { "$PYTHON" -c 'import torch, numpy' >/dev/null 2>&1; }
have_openblas() { [ -e "$OPENBLAS_LIBBLAS" ]; }

# Install what is missing when we can (root with apt-get).
if ! have_torch || ! have_openblas; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "compare-pytorch: installing python3-torch and libopenblas0-pthread (large, once)"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq python3-torch python3-numpy libopenblas0-pthread >/dev/null
	fi
fi
if ! have_torch; then
	echo "compare-pytorch: $PYTHON cannot import torch; install Debian's python3-torch (apt-get install python3-torch libopenblas0-pthread) or set PYTHON" >&2
	exit 1
fi

# Debian's torch calls whatever the libblas.so.3 alternative points at; the
# reference BLAS is far slower than OpenBLAS. Point it at OpenBLAS.
if command -v update-alternatives >/dev/null && update-alternatives --query "$ALT" >/dev/null 2>&1; then
	current=$(update-alternatives --query "$ALT" | awk '/^Value:/ {print $2}')
	if [ "$current" != "$OPENBLAS_LIBBLAS" ]; then
		if [ "$(id -u)" = 0 ] && have_openblas; then
			echo "compare-pytorch: libblas.so.3 was $current; setting it to OpenBLAS"
			update-alternatives --set "$ALT" "$OPENBLAS_LIBBLAS"
		else
			echo "compare-pytorch: WARNING: libblas.so.3 is $current, not OpenBLAS: torch will be slower than at its best" >&2
			echo "  fix: apt-get install libopenblas0-pthread && update-alternatives --set $ALT $OPENBLAS_LIBBLAS" >&2
		fi
	fi
fi

# The data: as the trainer finds it.
DATA=${SIMDMLP_DATA:-}
if [ -z "$DATA" ]; then
	for d in data/fashion-mnist /usr/share/datasets/fashion-mnist; do
		if [ -d "$d" ]; then DATA=$d; break; fi
	done
fi
if [ -z "$DATA" ] || [ ! -d "$DATA" ]; then
	echo "compare-pytorch: no Fashion-MNIST directory (run make data or set SIMDMLP_DATA)" >&2
	exit 1
fi

OUT=$(mktemp -d "${TMPDIR:-/tmp}/compare-pytorch.XXXXXX")
if [ "${KEEP:-}" = 1 ]; then
	echo "compare-pytorch: results in $OUT"
else
	trap 'rm -rf "$OUT"' EXIT
fi

"$GO" build -o "$OUT/train" ./train

echo "compare-pytorch: $EPOCHS epoch(s), batches $BATCHES, optimizers $OPTS, $THREADS thread(s), data $DATA"
for opt in $OPTS; do
	for batch in $BATCHES; do
		echo "== $opt, batch $batch: PyTorch"
		OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS \
			"$PYTHON" bench/compare_pytorch.py train --data "$DATA" --opt "$opt" --batch "$batch" \
			--epochs "$EPOCHS" --threads "$THREADS" --json "$OUT/torch-$opt-b$batch.json"
		echo "== $opt, batch $batch: simdmlp"
		GOMAXPROCS=$THREADS "$OUT/train" -opt "$opt" -batch "$batch" -epochs "$EPOCHS" \
			-threads "$THREADS" -data "$DATA" -download=false -out "$OUT/go"
	done
done
echo
"$PYTHON" bench/compare_pytorch.py report "$OUT"
