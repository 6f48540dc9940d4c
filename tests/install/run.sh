#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh BUILD_DIR SOURCE_DIR: installs the build into a scratch prefix, builds consumer.c against
# it with pkg-config (shared and static) and with CMake find_package (static and shared), runs all;
# checks with nm that only the public API is visible, and links clash.c, which reuses internal names.
set -euo pipefail

die() { echo "install test: FAIL: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: run.sh BUILD_DIR SOURCE_DIR"
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
here=$src/tests/install
work=$build/install-test
prefix=$work/prefix
# Run from ctest inside `make`: keep the nested builds away from the outer make's jobserver.
unset MAKEFLAGS MFLAGS MAKELEVEL DESTDIR
command -v pkg-config >/dev/null || die "pkg-config is not installed"

# The compiler the library was built with builds the consumers too.
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
cc=${cc:-cc}
cflags=(-std=c11 -Wall -Wextra -Werror -O2)

rm -rf "$work"
mkdir -p "$work"
echo "== cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; die "cmake --install"; }

# lib/ or lib/<multiarch>/ depending on GNUInstallDirs: find the .pc wherever it went.
pc=$(find "$prefix" -path '*/pkgconfig/axon.pc' | head -n 1)
[ -n "$pc" ] || die "no pkgconfig/axon.pc under $prefix"
export PKG_CONFIG_PATH=${pc%/axon.pc}
# axon.pc records the prefix chosen at configure time; point it at the scratch prefix.
pc_prefix=$(pkg-config --variable=prefix axon)
[ "$pc_prefix" = "$prefix" ] || echo "note: axon.pc says prefix=$pc_prefix; using --define-variable=prefix=$prefix"
pcq() { pkg-config --define-variable=prefix="$prefix" "$@" axon; }
libdir=$(pcq --variable=libdir)
[ -f "$libdir/libaxon.a" ] || die "no libaxon.a in $libdir"
[ -e "$libdir/libaxon.so" ] || die "no libaxon.so in $libdir"
# An installed archive must hold machine code: LTO-only members (LLVM bitcode, GCC slim GIMPLE)
# link only with the very compiler, version and linker plugin that built them.
if command -v readelf >/dev/null; then
    syms=$(readelf -s "$libdir/libaxon.a" 2>&1 || true)
    case "$syms" in
    *bitcode*|*"Not an ELF"*|*__gnu_lto_slim*)
        die "$libdir/libaxon.a holds LTO-only objects (bitcode or slim GIMPLE); build the installed static library without LTO, or with fat LTO objects";;
    esac
fi

# Only the public API is visible: the archive defines no global symbol but ax_*, the shared
# library exports ax_* only, each under the version node AXON_0.1.
command -v nm >/dev/null || die "nm is not installed"
nm_a=$(nm -g --defined-only "$libdir/libaxon.a")
nm_so=$(nm -D --defined-only "$libdir/libaxon.so")
bad=$(awk 'NF == 3 && $3 !~ /^ax_/ {print $3}' <<<"$nm_a")
[ -z "$bad" ] || die "libaxon.a defines internal symbols globally: $(head -n 5 <<<"$bad" | tr '\n' ' ')"
bad=$(awk 'NF == 3 && $3 != "AXON_0.1" && $3 !~ /^ax_[a-z_]+@@AXON_0\.1$/ {print $3}' <<<"$nm_so")
[ -z "$bad" ] || die "libaxon.so exports other than versioned ax_*: $(head -n 5 <<<"$bad" | tr '\n' ' ')"
n_a=$(grep -c ' ax_' <<<"$nm_a" || true)
n_so=$(grep -c ' ax_' <<<"$nm_so" || true)
[ "$n_a" -ge 30 ] && [ "$n_a" = "$n_so" ] || die "public symbols: $n_a in libaxon.a, $n_so in libaxon.so"
echo "symbols: $n_a public in each library, nothing else visible"

# needs BINARY yes|no: whether BINARY has libaxon.so as a dynamic dependency.
needs() {
    # Outputs are captured first: `cmd | grep -q` under pipefail fails when grep exits early.
    local dyn loads has
    command -v readelf >/dev/null || return 0
    dyn=$(readelf -d "$1")
    case "$dyn" in *NEEDED*libaxon.so*) has=yes;; *) has=no;; esac
    [ "$has" = "$2" ] || die "$1: libaxon.so dependency is '$has', expected '$2'"
    if [ "$2" = yes ]; then
        loads=$(ldd "$1")
        case "$loads" in *"libaxon.so"*" => $prefix/"*) ;; *) echo "$loads"; die "$1 does not load $prefix's libaxon.so";; esac
    fi
}
check() {
    local out
    out=$("$1") || die "$1 exited with status $?"
    [ "$out" = ok ] || die "$1 printed '$out', expected 'ok'"
    echo "$1: ok"
}

# pkg-config output is a list of words (paths here contain no spaces).
read -ra pc_cflags <<<"$(pcq --cflags)"
read -ra pc_libs <<<"$(pcq --libs)"
read -ra pc_static_libs <<<"$(pcq --static --libs)"

echo "== pkg-config: $cc consumer.c ${pc_cflags[*]} ${pc_libs[*]} -Wl,-rpath,$libdir"
"$cc" "${cflags[@]}" "$here/consumer.c" -o "$work/consumer_pc_shared" "${pc_cflags[@]}" "${pc_libs[@]}" \
    -Wl,-rpath,"$libdir"
needs "$work/consumer_pc_shared" yes
check "$work/consumer_pc_shared"

echo "== pkg-config --static: $cc consumer.c ${pc_cflags[*]} -Wl,-Bstatic ${pc_static_libs[*]} -Wl,-Bdynamic"
"$cc" "${cflags[@]}" "$here/consumer.c" -o "$work/consumer_pc_static" "${pc_cflags[@]}" \
    -Wl,-Bstatic "${pc_static_libs[@]}" -Wl,-Bdynamic
needs "$work/consumer_pc_static" no
check "$work/consumer_pc_static"

echo "== clash.c: a program with its own pool_alloc, timer_init, ... (static and shared)"
"$cc" "${cflags[@]}" "$here/clash.c" -o "$work/clash_static" "${pc_cflags[@]}" \
    -Wl,-Bstatic "${pc_static_libs[@]}" -Wl,-Bdynamic
check "$work/clash_static"
"$cc" "${cflags[@]}" "$here/clash.c" -o "$work/clash_shared" "${pc_cflags[@]}" "${pc_libs[@]}" \
    -Wl,-rpath,"$libdir"
check "$work/clash_shared"

echo "== cmake: find_package(axon) with CMAKE_PREFIX_PATH=$prefix"
cmake -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; die "configuring the consumer"; }
grep -- '-- axon ' "$work/cmake.log" || true
axon_dir=$(sed -n 's/^axon_DIR:[A-Z]*=//p' "$work/cmake/CMakeCache.txt")
case "$axon_dir" in "$prefix"/*) ;; *) die "find_package found axon in '$axon_dir', not under $prefix";; esac
cmake --build "$work/cmake" >"$work/build.log" 2>&1 || { cat "$work/build.log"; die "building the consumer"; }
needs "$work/cmake/consumer_static" no
check "$work/cmake/consumer_static"
needs "$work/cmake/consumer_shared" yes
check "$work/cmake/consumer_shared"
if [ -e "$prefix/lib/libaxon_remote.a" ] || ls "$prefix"/lib*/libaxon_remote.a >/dev/null 2>&1; then
    [ -x "$work/cmake/remote_consumer" ] || die "axon_remote is installed but axon::axon_remote was not built"
    check "$work/cmake/remote_consumer"
fi

echo "install test: ok (pkg-config shared and static, CMake axon::axon_static, axon::axon and axon::axon_remote)"
