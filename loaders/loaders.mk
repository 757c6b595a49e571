# flashtwin's open external-flash loaders (loaders/README.md), built with arm-none-eabi-gcc into
# $(BUILD)/loaders/<DeviceName>.stldr, and the QEMU self-test firmware that links a loader's
# objects into $(BUILD)/loaders/selftest/<DeviceName>.elf/.bin. Included by the top Makefile; the
# outputs are prerequisites of `fixtures`, so `all` and `test` build them.

LDR_DIR := loaders
LDR_OUT := $(BUILD)/loaders
# -fno-zero-initialized-in-bss: a loader has no C runtime; its state is all in the loaded .data.
LDR_CFLAGS = -std=c11 -Os -g -mthumb -mfloat-abi=soft -ffreestanding -ffunction-sections \
	-fdata-sections -fno-zero-initialized-in-bss -fno-tree-loop-distribute-patterns -Wall -Wextra \
	-Wstrict-prototypes -Wmissing-prototypes -MMD -MP $(if $(filter 1,$(WERROR)),-Werror)
# One PT_LOAD holds code and data (ST's layout): R X flags on writable data, which ld reports.
LDR_LDFLAGS = -nostdlib -nostartfiles -Wl,--gc-sections -Wl,--no-warn-rwx-segments \
	-L$(LDR_DIR)/ld $(if $(filter 1,$(WERROR)),-Xlinker --fatal-warnings)

LDR_H743 := W25Q256JV_custom-h743-w25q256
LDR_N657 := MX25UM51245G_nucleo-n657x0-q

# One call per loader: DeviceName (= file name), board (h743 | n657), fault defines.
LDR_NAMES :=
define ldr_loader
LDR_NAMES += $(1)
$(1)_BOARD := $(2)
$(1)_DEFS := -DLOADER_NAME='"$(1)"' $(3)
endef
ldr_h743_CPU := cortex-m7
ldr_h743_DRV := w25q256_h743.c
ldr_n657_CPU := cortex-m55
ldr_n657_DRV := mx25um_n657.c

$(eval $(call ldr_loader,$(LDR_H743),h743))
$(eval $(call ldr_loader,$(LDR_H743)-e03,h743,-DLDR_FAULT_SYSTICK=1))
$(eval $(call ldr_loader,$(LDR_H743)-e05,h743,-DLDR_FAULT_PAGE_CROSS=1))
$(eval $(call ldr_loader,$(LDR_H743)-e06,h743,-DLDR_FAULT_MAPPED_LEFT=1))
$(eval $(call ldr_loader,$(LDR_H743)-e3b,h743,-DLDR_FAULT_3BYTE=1))
$(eval $(call ldr_loader,$(LDR_N657),n657))
$(eval $(call ldr_loader,$(LDR_N657)-e12,n657,-DLDR_FAULT_INIT_HANG=1))

# Loaders the self-test firmware runs (E03 moves VTOR and E12 hangs: for a loader runner only).
LDR_SELFTESTS := $(LDR_H743) $(LDR_H743)-e05 $(LDR_H743)-e06 $(LDR_N657)

# The QEMU test firmware's start-up, VCP and part table (emu/qemu/firmware).
ldr_fw_h743 := startup.c tick.c uart.c part_h743.c system_h7.c
ldr_fw_h743_LD := h7.ld
ldr_fw_n657 := startup.c tick.c uart.c part_n657.c system_n6.c
ldr_fw_n657_LD := n6_fsbl.ld

LDR_OUTPUTS := $(LDR_NAMES:%=$(LDR_OUT)/%.stldr) \
	$(foreach n,$(LDR_SELFTESTS),$(LDR_OUT)/selftest/$(n).elf $(LDR_OUT)/selftest/$(n).bin)

fixtures: $(LDR_OUTPUTS)

ldr_objs = $(patsubst %.c,$(LDR_OUT)/obj/$(1)/%.o,loader.c hw.c $(ldr_$($(1)_BOARD)_DRV))
ldr_fw_objs = $(patsubst %.c,$(LDR_OUT)/obj/$(1)/fw/%.o,$(ldr_fw_$($(1)_BOARD)) ldr_selftest.c)

# Objects are per loader: the same sources with another CPU or fault defines.
define ldr_rules
$(LDR_OUT)/obj/$(1)/%.o: $(LDR_DIR)/src/%.c | $(DEPS_STAMP)
	@mkdir -p $$(dir $$@)
	arm-none-eabi-gcc $(LDR_CFLAGS) -mcpu=$(ldr_$($(1)_BOARD)_CPU) $($(1)_DEFS) -c $$< -o $$@

$(LDR_OUT)/$(1).stldr: $(call ldr_objs,$(1)) $(wildcard $(LDR_DIR)/ld/*.ld)
	arm-none-eabi-gcc -mcpu=$(ldr_$($(1)_BOARD)_CPU) -mthumb $(LDR_LDFLAGS) \
		-T loader_$($(1)_BOARD).ld -Wl,-Map,$$(@:.stldr=.map) -o $$@ $(call ldr_objs,$(1))

$(LDR_OUT)/obj/$(1)/fw/%.o: $(QFW_DIR)/src/%.c | $(DEPS_STAMP)
	@mkdir -p $$(dir $$@)
	arm-none-eabi-gcc $(QFW_CFLAGS) -mcpu=$(ldr_$($(1)_BOARD)_CPU) -c $$< -o $$@

$(LDR_OUT)/obj/$(1)/fw/%.o: $(LDR_DIR)/test/%.c | $(DEPS_STAMP)
	@mkdir -p $$(dir $$@)
	arm-none-eabi-gcc $(QFW_CFLAGS) -I. -I$(QFW_DIR)/src -mcpu=$(ldr_$($(1)_BOARD)_CPU) -c $$< -o $$@

$(LDR_OUT)/selftest/$(1).elf: $(call ldr_objs,$(1)) $(call ldr_fw_objs,$(1)) \
		$(wildcard $(QFW_DIR)/ld/*.ld)
	@mkdir -p $$(dir $$@)
	arm-none-eabi-gcc -mcpu=$(ldr_$($(1)_BOARD)_CPU) -mthumb $(QFW_LDFLAGS) \
		-T $(ldr_fw_$($(1)_BOARD)_LD) -Wl,-Map,$$(@:.elf=.map) -o $$@ \
		$(call ldr_fw_objs,$(1)) $(call ldr_objs,$(1))
endef
$(foreach n,$(LDR_NAMES),$(eval $(call ldr_rules,$(n))))

$(LDR_OUT)/selftest/%.bin: $(LDR_OUT)/selftest/%.elf
	arm-none-eabi-objcopy -O binary $< $@

# The N6 development-boot fixtures (CATALOGUE N02): an FSBL that brings XSPI2 up with the
# MX25UM51245G loader's driver and starts an application executing in place at 0x70100400, each
# as the signing tool's unsigned form (STM32 header v2.3 + binary, flashtwin convert
# --stm32-header): FSBL-trusted.bin for 0x70000000, Appli-trusted.bin for 0x70100000.
LDR_N6 := $(LDR_OUT)/n6
LDR_N6_FW := startup.c tick.c uart.c part_n657.c system_n6.c
ldr_n6_obj = $(patsubst %.c,$(LDR_N6)/obj/%.o,$(1))
LDR_N6_FSBL_OBJ := $(call ldr_n6_obj,$(LDR_N6_FW) n6_fsbl_xip.c)
LDR_N6_APP_OBJ := $(call ldr_n6_obj,$(LDR_N6_FW) n6_app_xip.c)

fixtures: $(LDR_N6)/FSBL-trusted.bin $(LDR_N6)/Appli-trusted.bin

$(LDR_N6)/obj/%.o: $(QFW_DIR)/src/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	arm-none-eabi-gcc $(QFW_CFLAGS) -mcpu=cortex-m55 -c $< -o $@

$(LDR_N6)/obj/%.o: $(LDR_DIR)/test/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	arm-none-eabi-gcc $(QFW_CFLAGS) -I. -I$(QFW_DIR)/src -mcpu=cortex-m55 -c $< -o $@

$(LDR_N6)/fsbl.elf: $(LDR_N6_FSBL_OBJ) $(call ldr_objs,$(LDR_N657)) $(wildcard $(QFW_DIR)/ld/*.ld)
	arm-none-eabi-gcc -mcpu=cortex-m55 -mthumb $(QFW_LDFLAGS) -T n6_fsbl.ld \
		-Wl,-Map,$(@:.elf=.map) -o $@ $(LDR_N6_FSBL_OBJ) $(call ldr_objs,$(LDR_N657))

$(LDR_N6)/app.elf: $(LDR_N6_APP_OBJ) $(LDR_DIR)/ld/n6_app_xip.ld $(wildcard $(QFW_DIR)/ld/*.ld)
	arm-none-eabi-gcc -mcpu=cortex-m55 -mthumb $(QFW_LDFLAGS) -L$(LDR_DIR)/ld -T n6_app_xip.ld \
		-Wl,-Map,$(@:.elf=.map) -o $@ $(LDR_N6_APP_OBJ)

# From objcopy's binary (sections only): ld puts the ELF headers into the first PT_LOAD of these
# images (conformance/fixtures/README.md note 2), which a segment-based binary would keep.
$(LDR_N6)/%.bin: $(LDR_N6)/%.elf
	arm-none-eabi-objcopy -O binary $< $@

$(LDR_N6)/FSBL-trusted.bin: $(LDR_N6)/fsbl.bin $(BUILD)/flashtwin
	$(BUILD)/flashtwin convert --format bin --stm32-header -o $@ $<@0x34180400

$(LDR_N6)/Appli-trusted.bin: $(LDR_N6)/app.bin $(BUILD)/flashtwin
	$(BUILD)/flashtwin convert --format bin --stm32-header -o $@ $<@0x70100400

# An H743 application with 64 KiB of constant data at 0x90000000 that it reads through QUADSPI
# with the W25Q256JV loader's driver (test/h743_qspi_app.c): programmed through the loader and
# booted by emu/tests/test_emu_extflash.c.
LDR_H7APP := $(LDR_OUT)/h743-qspi-app
LDR_H7APP_OBJ := $(patsubst %.c,$(LDR_H7APP)/obj/%.o,$(ldr_fw_h743) h743_qspi_app.c) \
	$(LDR_H7APP)/obj/assets.o

fixtures: $(LDR_H7APP).elf

$(LDR_H7APP)/obj/%.o: $(QFW_DIR)/src/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	arm-none-eabi-gcc $(QFW_CFLAGS) -mcpu=cortex-m7 -c $< -o $@

$(LDR_H7APP)/obj/%.o: $(LDR_DIR)/test/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	arm-none-eabi-gcc $(QFW_CFLAGS) -I. -I$(QFW_DIR)/src -mcpu=cortex-m7 -c $< -o $@

$(LDR_H7APP)/obj/assets.o: conformance/fixtures/src/assets.S | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	arm-none-eabi-gcc -mcpu=cortex-m7 -mthumb -DASSET_SECTION=.qspi -DASSET_BYTES=0x10000 \
		-c $< -o $@

$(LDR_H7APP).elf: $(LDR_H7APP_OBJ) $(call ldr_objs,$(LDR_H743)) $(LDR_DIR)/ld/h743_qspi_app.ld \
		$(wildcard $(QFW_DIR)/ld/*.ld)
	arm-none-eabi-gcc -mcpu=cortex-m7 -mthumb $(QFW_LDFLAGS) -L$(LDR_DIR)/ld -T h743_qspi_app.ld \
		-Wl,-Map,$(@:.elf=.map) -o $@ $(LDR_H7APP_OBJ) $(call ldr_objs,$(LDR_H743))

-include $(shell find $(LDR_OUT)/obj $(LDR_N6)/obj $(LDR_H7APP)/obj -name '*.d' 2>/dev/null)
