# Veil build. `make` builds libveil and the veil CLI; `make test` runs the
# suite; `make fuzz` builds the libFuzzer targets with clang; `make bench`
# builds the benchmarks. BUILD selects the output folder, so several builds
# (gcc, clang, sanitizers) can live side by side.

BUILD    ?= build
CC       ?= cc
OPT      ?= -O2 -g
SAN      ?=
PKGS     := libcrypto jansson libxml-2.0 xmlsec1-openssl sqlite3 libevent libevent_openssl \
            libevent_pthreads libcurl
PKG_CHECK := $(shell pkg-config --exists $(PKGS) || echo missing)
ifeq ($(PKG_CHECK),missing)
$(warning development files of $(PKGS) not all found: run 'bash scripts/setup.sh' first)
endif
WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wstrict-prototypes \
            -Wmissing-prototypes -Wpointer-arith -Wundef -Wcast-align
CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE
CFLAGS   += -std=c17 $(OPT) $(WARN) $(SAN) -fno-strict-aliasing \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# -ldl: the GPU attester opens libnvidia-ml at run time (part of libc since
# glibc 2.34; needed before).
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -ldl
LDFLAGS  += $(SAN)

LIB_SRCS   := $(shell find src -name '*.c' ! -path 'src/cli/*' ! -path 'src/daemon/*' | sort)
CLI_SRCS   := $(sort $(wildcard src/cli/*.c))
TEST_SRCS  := $(sort $(wildcard tests/test_*.c))
FUZZ_SRCS  := $(sort $(wildcard fuzz/fuzz_*.c))
BENCH_SRCS := $(sort $(wildcard bench/bench_*.c))

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/libveil.a
VEIL      := $(BUILD)/veil
KBS       := $(BUILD)/veil-kbs
WORKER    := $(BUILD)/veil-worker
GATEWAY   := $(BUILD)/veil-gateway
TESTS     := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
BENCHES   := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
FUZZ_BUILD ?= build-fuzz
FUZZERS   := $(FUZZ_SRCS:fuzz/%.c=$(FUZZ_BUILD)/%)

.PHONY: all test check-tests fuzz bench clean format format-check demo
all: $(VEIL) $(KBS) $(WORKER) $(GATEWAY)

# The main job: the whole system on the simulated TEE (key broker, gateway,
# two workers, veil chat, veil proxy with the openai npm client, receipts,
# audit, and the refusals), narrated, with a table of what was proven.
# (scripts/demo.sh also installs what is missing and builds first; this
# target builds, and assumes the packages are there.)
demo: all
	@BUILD=$(BUILD) scripts/demo.sh --no-setup

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# The CLI shares the daemons' option and signal helpers (veil proxy is a
# server too).
$(VEIL): $(CLI_OBJS) $(BUILD)/src/daemon/daemon.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(BUILD)/src/daemon/daemon.o $(LIB) $(LDLIBS)

$(KBS): $(BUILD)/src/daemon/veil_kbs.o $(BUILD)/src/daemon/daemon.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(LDLIBS)

$(WORKER): $(BUILD)/src/daemon/veil_worker.o $(BUILD)/src/daemon/daemon.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(LDLIBS)

$(GATEWAY): $(BUILD)/src/daemon/veil_gateway.o $(BUILD)/src/daemon/daemon.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/harness.c $(wildcard tests/*.h) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -o $@ $< tests/harness.c $(LIB) $(LDFLAGS) $(LDLIBS)

# The stand-in for libnvidia-ml that test_attester_nvml loads with dlopen,
# from $(BUILD)/tests/fixtures next to the test binaries.
$(BUILD)/tests/fixtures/libfake_nvml.so: tests/fixtures/fake_nvml.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -shared -o $@ $< $(LDFLAGS)
$(BUILD)/tests/test_attester_nvml $(BUILD)/tests/test_guest $(BUILD)/tests/test_hostcheck_gpu: \
    $(BUILD)/tests/fixtures/libfake_nvml.so

# The Veil end of the OHTTP interop tests, which tests/interop/*.mjs drive.
$(BUILD)/tests/interop/ohttp_peer: tests/interop/ohttp_peer.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

# The Veil end of the JOSE interop tests, which tests/interop/jose_interop.mjs
# drives.
$(BUILD)/tests/interop/jose_peer: tests/interop/jose_peer.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

# The writer that tests/cli/store_durability.sh kills mid-write, and its
# checker.
$(BUILD)/tests/tools/store_writer: tests/tools/store_writer.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

check-tests: $(VEIL) $(KBS) $(WORKER) $(GATEWAY) $(TESTS) $(BUILD)/tests/interop/ohttp_peer \
             $(BUILD)/tests/interop/jose_peer \
             $(BUILD)/tests/tools/store_writer

# Runs every unit test binary and the CLI conformance script; prints one
# "N passed, N failed" line at the end.
test: check-tests
	@BUILD=$(BUILD) scripts/run-tests.sh $(TESTS)

# libFuzzer targets: always clang, with ASan and UBSan, in their own folder.
# The library is compiled once with coverage instrumentation
# (fuzzer-no-link) into an archive of its own, and each target links it:
# compiling every source again for every target made the fuzz build the
# longest step of CI.
FUZZ_CFLAGS := $(CPPFLAGS) -std=c17 -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
               -fno-sanitize-recover=undefined $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_OBJS   := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_LIB    := $(FUZZ_BUILD)/libveil-fuzz.a

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_LIB) $(wildcard fuzz/*.h)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LDLIBS)
fuzz: $(FUZZERS)

bench: $(BENCHES)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-* 

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(BUILD)/src/daemon/veil_kbs.d \
         $(BUILD)/src/daemon/veil_worker.d $(BUILD)/src/daemon/veil_gateway.d \
         $(BUILD)/src/daemon/daemon.d $(FUZZ_OBJS:.o=.d)
