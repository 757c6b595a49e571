# flashtwin: one entry point. `make` builds, `make test` runs every suite, `make run` shows the
# main job on the default board. Every target installs the missing Debian packages first
# (ci/deps.sh, idempotent).

BUILD ?= build
SAN ?= 0
WERROR ?= 0
OPT ?= -O2 -g

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla \
	-Wpointer-arith -Wundef -Wnull-dereference
SANITIZERS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

FT_CFLAGS = -std=c11 -D_GNU_SOURCE $(OPT) $(WARNINGS) -I. -MMD -MP \
	$(shell pkg-config --cflags libusb-1.0 2>/dev/null) \
	$(if $(filter 1,$(SAN)),$(SANITIZERS)) $(if $(filter 1,$(WERROR)),-Werror) $(CFLAGS)
FT_LDFLAGS = $(if $(filter 1,$(SAN)),$(SANITIZERS)) $(LDFLAGS)
FT_LDLIBS = -lelf -ljansson -lusb-1.0 -lpthread -lm $(LDLIBS)

# Library sources: every .c of a tree except programs (cli/), tests, fuzz targets, benchmarks,
# firmware and the QEMU overlay, which have rules of their own.
lib_sources = $(shell find $(1) -name '*.c' -not -path '*/cli/*' -not -path '*/tests/*' \
	-not -path '*/fuzz/*' -not -path '*/bench/*' -not -path '*/fixtures/*' \
	-not -path '*/firmware/*' -not -path '*/qemu/*' 2>/dev/null | sort)

MODELS_SRC := $(call lib_sources,models)
PROGRAMMER_SRC := $(call lib_sources,programmer)
EMU_SRC := $(call lib_sources,emu)
CONFORM_SRC := $(call lib_sources,conformance)

LIB_MODELS := $(BUILD)/lib/libft_models.a
LIB_PROGRAMMER := $(BUILD)/lib/libft_programmer.a
LIB_EMU := $(BUILD)/lib/libft_emu.a
LIB_CONFORM := $(BUILD)/lib/libft_conform.a
# Link order: dependants before what they depend on (conformance -> programmer, emu -> models).
ALL_LIBS := $(LIB_CONFORM) $(LIB_EMU) $(LIB_PROGRAMMER) $(LIB_MODELS)

PROGRAMS := $(BUILD)/flashtwin
$(BUILD)/flashtwin_SRC := $(sort $(wildcard programmer/cli/*.c))
ifneq ($(wildcard emu/cli/*.c),)
PROGRAMS += $(BUILD)/flashtwin-emu
$(BUILD)/flashtwin-emu_SRC := $(sort $(wildcard emu/cli/*.c))
endif
ifneq ($(wildcard conformance/cli/*.c),)
PROGRAMS += $(BUILD)/flashtwin-conform
$(BUILD)/flashtwin-conform_SRC := $(sort $(wildcard conformance/cli/*.c))
# the conformance runner replays its scenarios through CUnit
$(BUILD)/flashtwin-conform_LIBS := -lcunit
endif

TEST_HARNESS_SRC := models/tests/ft_test.c
TEST_SRC := $(sort $(wildcard models/tests/test_*.c programmer/tests/test_*.c emu/tests/test_*.c \
	conformance/tests/test_*.c))
# models/tests/test_flash_h7.c -> $(BUILD)/tests/models_test_flash_h7
test_bin = $(BUILD)/tests/$(firstword $(subst /, ,$(1)))_$(basename $(notdir $(1)))
TEST_BINS := $(foreach t,$(TEST_SRC),$(call test_bin,$(t)))

BENCH_SRC := $(sort $(wildcard models/bench/bench_*.c programmer/bench/bench_*.c emu/bench/bench_*.c))
BENCH_BINS := $(patsubst %.c,$(BUILD)/bench/%,$(notdir $(BENCH_SRC)))

FUZZ_SRC := $(sort $(wildcard models/fuzz/fuzz_*.c programmer/fuzz/fuzz_*.c emu/fuzz/fuzz_*.c))
FUZZ_BUILD := build/fuzz
FUZZ_SECONDS ?= 60

DEPS_STAMP := build/.deps-checked
# Parallel jobs for the builds that test, bench and fuzz start (one per core).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

.PHONY: all deps test test-build bench fuzz run clean fixtures lab qemu
.DEFAULT_GOAL := all

all: $(PROGRAMS) fixtures

deps:
	@ci/deps.sh
	@mkdir -p build && touch $(DEPS_STAMP)

$(DEPS_STAMP): ci/packages.txt ci/deps.sh
	@ci/deps.sh
	@mkdir -p build && touch $@

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(FT_CFLAGS) -c $< -o $@

define archive
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $^
endef

$(LIB_MODELS): $(call obj,$(MODELS_SRC)) ; $(archive)
$(LIB_PROGRAMMER): $(call obj,$(PROGRAMMER_SRC)) ; $(archive)
$(LIB_EMU): $(call obj,$(EMU_SRC)) ; $(archive)
$(LIB_CONFORM): $(call obj,$(CONFORM_SRC)) ; $(archive)

.SECONDEXPANSION:
$(PROGRAMS): $$(call obj,$$($$@_SRC)) $(ALL_LIBS)
	$(CC) $(FT_LDFLAGS) -o $@ $(call obj,$($@_SRC)) $(ALL_LIBS) $($@_LIBS) $(FT_LDLIBS)

define test_rule
$(call test_bin,$(1)): $(call obj,$(1) $(TEST_HARNESS_SRC)) $(ALL_LIBS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(FT_LDFLAGS) -o $$@ $$(call obj,$(1) $(TEST_HARNESS_SRC)) $(ALL_LIBS) -lcunit $$(FT_LDLIBS)
endef
$(foreach t,$(TEST_SRC),$(eval $(call test_rule,$(t))))

$(BUILD)/bench/%: $$(filter $$(addsuffix $$*.c,$$(sort $$(dir $(BENCH_SRC)))),$(BENCH_SRC)) $(ALL_LIBS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(FT_CFLAGS) $(FT_LDFLAGS) -o $@ $< $(ALL_LIBS) $(FT_LDLIBS)

# conformance/fixtures/fixtures.mk adds the firmware fixtures as prerequisites.
fixtures:
-include conformance/fixtures/fixtures.mk
-include emu/qemu/firmware/firmware.mk
-include loaders/loaders.mk

test-build: $(TEST_BINS) $(PROGRAMS) fixtures

# qemu-system-arm with the flashtwin machines, linked at build/qemu/ (emu/qemu/build.sh: Debian's
# QEMU 7.2 source plus emu/qemu's overlay, cached outside the tree by the overlay's content hash).
qemu: | $(DEPS_STAMP)
	@FT_QEMU_JOBS=$(JOBS) emu/qemu/build.sh build/qemu

# Tests run under ASan+UBSan in their own build tree, after a whole flash under valgrind (its own
# tree); the QEMU tests need qemu. The CUnit totals come last.
test: qemu | $(DEPS_STAMP)
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=build/san SAN=1 test-build
	@MAKE="$(MAKE)" JOBS=$(JOBS) ci/valgrind-flash.sh build/valgrind
	@ci/run-tests.sh $(patsubst $(BUILD)/%,build/san/%,$(TEST_BINS))

bench: qemu | $(DEPS_STAMP)
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=build/bench-tree OPT="-O2 -g -DNDEBUG" \
		$(patsubst $(BUILD)/%,build/bench-tree/%,$(BENCH_BINS)) build/bench-tree/flashtwin \
		build/bench-tree/flashtwin-emu fixtures
	@ci/run-bench.sh build/bench-tree

# The lab (ci/lab/README.md): lsusb, dfu-util and flashtwin in a Linux guest, through the kernel's
# vhci-hcd, against every emulated H7 board.
lab: all
	@ci/lab/lab.sh $(BUILD)

# libFuzzer targets, clang only; each runs FUZZ_SECONDS.
fuzz: | $(DEPS_STAMP)
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=$(FUZZ_BUILD) CC=clang SAN=1 OPT="-O1 -g" \
		CFLAGS="-fsanitize=fuzzer-no-link" $(ALL_LIBS:$(BUILD)/%=$(FUZZ_BUILD)/%)
	@ci/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_SRC)

run: all qemu
	@ci/run-main.sh $(BUILD)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
