#!/usr/bin/env bash
# Debian/Ubuntu system libraries fastmeta needs beyond Python packages: EGL and Mesa's GL
# drivers for the headless 3D renderer (llvmpipe on machines without a GPU).
# Idempotent and non-interactive; does nothing when everything is already installed.
set -euo pipefail
packages=(libegl1 libgl1 libgl1-mesa-dri)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_system_deps: no apt-get here; install the equivalents of: ${missing[*]}" >&2
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
        echo "install_system_deps: not root and no sudo; run: apt-get install -y ${missing[*]}" >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
