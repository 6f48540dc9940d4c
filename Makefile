# SPDX-License-Identifier: MIT
# Makefile: a thin wrapper around the CMake build of axon; every build tree lives under build/.
# Targets: all (default), test, test-release, test-tsan, test-asan, run, bench, install, clang, soak,
# clean.

SHELL := /bin/bash
# -o pipefail: `axon-bench | awk` fails when the benchmark fails, not only when awk does.
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := all

CMAKE ?= cmake
CTEST ?= ctest
CLANG ?= clang
PREFIX ?= /usr/local
NPROC := $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=
BENCH_ARGS ?=
# soak: how long the randomized API test runs (seconds); AX_SOAK_SEED in the environment replays a run.
SOAK_SECONDS ?= 600

# Compiler: AX_CC=... wins; otherwise CC is passed on only when given on the command line or
# in the environment (never make's built-in default `cc`). Empty: CMake picks (or keeps) its own.
AX_CC ?=
ifeq ($(AX_CC),)
  ifneq ($(filter command% environment%,$(origin CC)),)
    AX_CC := $(CC)
  endif
endif
CC_FLAG := $(if $(AX_CC),-DCMAKE_C_COMPILER=$(AX_CC))

RELEASE_DIR := build/release
TSAN_DIR := build/tsan
ASAN_DIR := build/asan
CLANG_DIR := build/clang

TSAN_ENV := TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: all test test-release test-tsan test-asan run bench install clang soak fuzz clean

all:
	$(CMAKE) -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release $(CC_FLAG)
	$(CMAKE) --build $(RELEASE_DIR) -j$(NPROC)

# All three suites run even when one fails, so the output shows every failure; the exit status
# is non-zero if any build or suite failed.
test:
	@failed=""; \
	for v in release tsan asan; do \
	  echo "==> make test-$$v"; \
	  $(MAKE) --no-print-directory test-$$v || failed="$$failed $$v"; \
	done; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed" >&2; exit 1; fi; \
	echo "make test: release, tsan and asan suites all passed"

test-release: all
	cd $(RELEASE_DIR) && $(CTEST) --output-on-failure $(CTEST_ARGS)

# Older TSan runtimes (gcc 12, clang 14) abort with "unexpected memory mapping" on kernels
# that randomize mmap with high entropy; a trivial TSan program tells, and ctest then runs
# with ASLR off (setarch -R).
test-tsan:
	$(CMAKE) -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAX_SANITIZE=thread \
	  -DAX_POOL_PASSTHROUGH=ON $(CC_FLAG)
	$(CMAKE) --build $(TSAN_DIR) -j$(NPROC)
	@cc=$$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' $(TSAN_DIR)/CMakeCache.txt); \
	echo 'int main(void) { return 0; }' | "$${cc:-cc}" -fsanitize=thread -x c - -o $(TSAN_DIR)/aslr-check; \
	wrap=""; \
	for i in 1 2 3 4 5; do \
	  out=$$($(TSAN_DIR)/aslr-check 2>&1 || true); \
	  case "$$out" in *"unexpected memory mapping"*) wrap="setarch $$(uname -m) -R"; break;; esac; \
	done; \
	if [ -n "$$wrap" ]; then \
	  echo "TSan: unexpected memory mapping with ASLR on; running ctest under: $$wrap"; \
	else \
	  echo "TSan: memory mapping check passed; running ctest with ASLR on"; \
	fi; \
	echo "cd $(TSAN_DIR) && $(TSAN_ENV) $${wrap:+$$wrap }$(CTEST) --output-on-failure $(CTEST_ARGS)"; \
	cd $(TSAN_DIR) && $(TSAN_ENV) $$wrap $(CTEST) --output-on-failure $(CTEST_ARGS)

test-asan:
	$(CMAKE) -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAX_SANITIZE=address \
	  -DAX_POOL_PASSTHROUGH=ON $(CC_FLAG)
	$(CMAKE) --build $(ASAN_DIR) -j$(NPROC)
	cd $(ASAN_DIR) && $(ASAN_ENV) $(CTEST) --output-on-failure $(CTEST_ARGS)

run: all
	$(RELEASE_DIR)/bench/axon-bench all --scale 0.1 $(BENCH_ARGS) | awk -f bench/table.awk

bench: all
	$(RELEASE_DIR)/bench/axon-bench all $(BENCH_ARGS) | awk -f bench/table.awk

# PREFIX=dir (default /usr/local); DESTDIR in the environment is honoured by cmake --install.
install:
	$(CMAKE) -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_INSTALL_PREFIX=$(abspath $(PREFIX)) $(CC_FLAG)
	$(CMAKE) --build $(RELEASE_DIR) -j$(NPROC)
	$(CMAKE) --install $(RELEASE_DIR)

# A Release build with clang and its test suite (CI builds with both compilers).
clang:
	$(CMAKE) -S . -B $(CLANG_DIR) -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=$(CLANG)
	$(CMAKE) --build $(CLANG_DIR) -j$(NPROC)
	cd $(CLANG_DIR) && $(CTEST) --output-on-failure $(CTEST_ARGS)

# The HTTP parser under libFuzzer for FUZZ_SECONDS (default 300), from the committed seed corpus;
# new inputs it finds go to build/fuzz-corpus (add the interesting ones to fuzz/corpus/http).
FUZZ_SECONDS ?= 300
fuzz: all
	mkdir -p build/fuzz-corpus
	$(RELEASE_DIR)/tests/fuzz_http -max_total_time=$(FUZZ_SECONDS) build/fuzz-corpus fuzz/corpus/http

# The randomized API test (tests/test_api_random.c) for SOAK_SECONDS on the Release build. It
# prints its seed first and, at the end, how many API calls and runtimes it went through.
soak: all
	AX_SOAK_SECONDS=$(SOAK_SECONDS) $(RELEASE_DIR)/tests/test_api_random

clean:
	rm -rf build
