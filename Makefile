# pfagent: a Prefect-compatible worker agent and the C flows it runs.
#
#   make            build build/pfagent and the flow modules (installs
#                   missing Debian packages first, see scripts/setup)
#   make test       unit tests (plain and ASan+UBSan), fuzz corpus replay,
#                   then the integration suite against a real Prefect server
#   make demo       the main job end to end on embedded defaults
#   make bench      pfagent against Prefect's own worker, side by side,
#                   and against prefect-aws's ECS worker (scripts/bench-ecs):
#                   writes docs/benchmarks.md (not part of make test)
#   make image      the container image, build/pfagent-image.tar (OCI),
#                   with mmdebstrap and buildah (container/README.md)
#   make bench-image  its size and cold start beside Prefect's image:
#                   the image section of docs/benchmarks.md
#   make scale      5 agents x 2,000 runs on a PostgreSQL-backed Prefect
#                   server: the scale section of docs/benchmarks.md (make
#                   test runs a 5 x 200 version)
#   make compat     a core subset of the integration suite against every
#                   Prefect 3.x line (not part of make test)

CC	?= cc
PKGS	 = libcurl libcjson yaml-0.1 openssl libgit2 libwebsockets libpq zlib
# Installs missing Debian packages once per top-level make, not again in
# the recursive makes of `make test`.
# A flow module alone (pfagent builds `make build/flows/x.so` in a
# checkout) needs only the SDK headers, so it skips the check and
# pkg-config (absent from pfagent's image: container/Containerfile).
ifneq ($(MAKECMDGOALS),)
ifeq ($(filter-out %.so,$(MAKECMDGOALS)),)
PFAGENT_DEPS_CHECKED = 1
FLOWS_ONLY = 1
endif
endif
ifndef PFAGENT_DEPS_CHECKED
$(shell scripts/setup deps >&2)
$(shell scripts/setup duckdb >&2)
export PFAGENT_DEPS_CHECKED = 1
endif
ifndef FLOWS_ONLY
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
endif

# pfagent builds a user's module with `make WERROR= build/flows/x.so`: its
# warnings go to the run's logs instead of failing the run.
WERROR	 = -Werror
WARN	 = -Wall -Wextra $(WERROR) -Wformat=2 -Wvla -Wshadow -Wstrict-prototypes
CSTD	 = -std=c11 -D_GNU_SOURCE
VERSION	 = 0.1.0
CPPFLAGS = -Iinclude -I. -Ithird_party/duckdb $(PKG_CFLAGS) -DPFAGENT_VERSION=\"$(VERSION)\"
CFLAGS_COMMON = $(CSTD) $(WARN) -fstack-protector-strong -g -MMD -MP
OPT	 = -O2
SAN	 = -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	   -fno-omit-frame-pointer
LDLIBS	 = $(PKG_LIBS) -ldl -lpthread -lm
# Flow modules resolve the SDK's pf_* symbols from the running pfagent.
EXPORTS	 = -Wl,--dynamic-list=sdk/exports.dynlist

# Every folder below holds modules linked into pfagent, in the order of
# docs/layers.txt (lowest first); the two mains are the only sources that
# are not also linked into the unit tests.
LIB_DIRS = common yaml git aws snowflake config prefect load deployments sdk \
	   executor worker cli cli/deploy
MAINS	 = cli/main.c cli/flow_main.c
LIB_SRC	 = $(filter-out $(MAINS),$(wildcard $(addsuffix /*.c,$(LIB_DIRS))))
FLOW_SRC = $(wildcard flows/*.c) $(wildcard tests/flows/*.c)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
# Test programs the integration tests drive (tests/integration/*.c).
DRIVER_SRC = $(wildcard tests/integration/*.c)

# B may be overridden (make B=/tmp/b) to build elsewhere, in parallel.
B	?= build
S	 = $(B)/san

LIB_OBJ	 = $(LIB_SRC:%.c=$(B)/obj/%.o)
LIB_SOBJ = $(LIB_SRC:%.c=$(S)/obj/%.o)
FLOWS	 = $(FLOW_SRC:%.c=$(B)/%.so)
UNITS	 = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
SUNITS	 = $(UNIT_SRC:tests/unit/%.c=$(S)/tests/unit/%)
FUZZERS	 = $(FUZZ_SRC:tests/fuzz/%.c=$(S)/tests/fuzz/%)
DRIVERS	 = $(DRIVER_SRC:tests/integration/%.c=$(S)/tests/integration/%)

.PHONY: all flows layers long-functions test unit unit-san fuzz-replay \
	integration compat image demo bench bench-image bench-load scale \
	clean valgrind
.DEFAULT_GOAL := all

all: $(B)/pfagent $(B)/pfagent-flow $(S)/pfagent $(S)/pfagent-flow flows \
	$(DRIVERS)
flows: $(FLOWS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(OPT) -c $< -o $@
$(S)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(SAN) -c $< -o $@

$(B)/libpf.a: $(LIB_OBJ)
	@rm -f $@; ar rcs $@ $^
$(S)/libpf.a: $(LIB_SOBJ)
	@rm -f $@; ar rcs $@ $^

# Two executables (docs/architecture.md, "Two executables"): pfagent, the
# worker, linked from the archive so it holds only what `start` calls,
# and maps only the libraries that code uses (--as-needed); pfagent-flow,
# every other command and the flow-run process, linked from objects so
# every SDK symbol is present for flow modules.
$(B)/pfagent: $(B)/obj/cli/main.o $(B)/libpf.a
	$(CC) $(OPT) -Wl,--as-needed -o $@ $< $(B)/libpf.a $(LDLIBS)
$(S)/pfagent: $(S)/obj/cli/main.o $(S)/libpf.a
	$(CC) $(SAN) -Wl,--as-needed -o $@ $< $(S)/libpf.a $(LDLIBS)
$(B)/pfagent-flow: $(B)/obj/cli/flow_main.o $(LIB_OBJ) sdk/exports.dynlist
	$(CC) $(OPT) $(EXPORTS) -o $@ $(B)/obj/cli/flow_main.o $(LIB_OBJ) \
		$(LDLIBS)
$(S)/pfagent-flow: $(S)/obj/cli/flow_main.o $(LIB_SOBJ) sdk/exports.dynlist
	$(CC) $(SAN) $(EXPORTS) -o $@ $(S)/obj/cli/flow_main.o $(LIB_SOBJ) \
		$(LDLIBS)

# A flow module: flows/<file>.c -> build/flows/<file>.so (docs/flows.md).
$(B)/%.so: %.c $(wildcard include/pf/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -Iinclude -fPIC -shared -O2 -g $< -o $@

$(B)/tests/unit/%: tests/unit/%.c tests/unit/t.h $(B)/libpf.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(OPT) $< -o $@ $(B)/libpf.a $(LDLIBS)
$(S)/tests/unit/%: tests/unit/%.c tests/unit/t.h $(S)/libpf.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(SAN) $< -o $@ $(S)/libpf.a $(LDLIBS)

$(B)/tests/integration/%: tests/integration/%.c $(B)/libpf.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(OPT) $< -o $@ $(B)/libpf.a $(LDLIBS)
$(S)/tests/integration/%: tests/integration/%.c $(S)/libpf.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(SAN) $< -o $@ $(S)/libpf.a $(LDLIBS)

# Fuzz harnesses are replayed over their corpora by a standalone driver,
# so no clang/libFuzzer is needed to run them in make test.
$(S)/tests/fuzz/%: tests/fuzz/%.c tests/fuzz/standalone.c $(S)/libpf.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(SAN) $< tests/fuzz/standalone.c \
		-o $@ $(S)/libpf.a $(LDLIBS)

unit: $(UNITS)
	@scripts/run-unit $(UNITS)
unit-san: $(SUNITS)
	@scripts/run-unit $(SUNITS)
fuzz-replay: $(FUZZERS)
	@scripts/run-fuzz-replay $(FUZZERS)

integration: all
	@scripts/setup venv
	@scripts/setup browser || echo "make integration: no Chromium" \
		"(scripts/setup browser as root): the UI test skips"
	@scripts/run-integration

# The integration suite's core against every Prefect 3.x line, each
# server from a venv of its own (scripts/compat, tests/compat/).
compat: all
	@scripts/setup venv
	@.venv/bin/python scripts/compat

# Includes point down only (docs/layers.txt); the self-test proves the
# check fails on an upward include.
layers:
	@scripts/check-layers --self-test
	@scripts/check-layers

# No function over 80 lines in the worker, the executor, the commands or
# the pull steps unless the comment above it says "long:" and why.
long-functions:
	@scripts/long-functions --self-test
	@scripts/long-functions worker executor cli deployments

# The image and its tests (tests/integration/test_image.py) when the
# image tools are there: as root (CI) make test installs them. Then the
# Prefect version matrix (make compat), so CI proves every 3.x line.
test: all
	@$(MAKE) --no-print-directory layers long-functions unit unit-san \
		fuzz-replay
	@[ "$$(id -u)" != 0 ] || scripts/setup image-tools
	@if scripts/image --available; then \
		$(MAKE) --no-print-directory image; \
	else echo "make test: no mmdebstrap, buildah or root: the image is" \
		"not built (scripts/setup image-tools)"; fi
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory compat

# The container image (container/Containerfile) as an OCI archive,
# $(B)/pfagent-image.tar, and its sizes in $(B)/image-size.txt; niced, so
# it does not starve what else runs (scripts/image; as root).
image:
	@scripts/setup image-tools
	@B=$(B) nice -n 10 scripts/image

demo: all
	@scripts/setup venv
	@scripts/demo

bench: all
	@scripts/setup venv
	@PFAGENT=$(B)/pfagent .venv/bin/python scripts/bench
	@.venv/bin/python scripts/bench-ecs

# The image's size and cold start to ONLINE (root; not part of make test).
bench-image: image
	@scripts/setup venv
	@.venv/bin/python scripts/bench-image

# 10,000 runs, each executed once, agents' memory flat (not part of make
# test, which runs the 5 x 200 version of the same test).
scale: all
	@scripts/setup venv
	@.venv/bin/python scripts/scale

# One million nested records and a series of wide objects into DuckDB:
# pfagent's loading runtime against dlt's own pipeline, as it comes and
# at its fastest (parquet); writes the loading section of
# docs/benchmarks.md (not part of make test).
bench-load: all
	@scripts/setup venv
	@PFAGENT=$(B)/pfagent .venv/bin/python scripts/bench-load

valgrind: $(UNITS)
	@scripts/run-unit --valgrind $(UNITS)

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
