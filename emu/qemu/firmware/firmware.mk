# Test firmware for the flashtwin QEMU machines (emu/qemu/firmware/README.md), built with
# arm-none-eabi-gcc into $(BUILD)/qemu-firmware/<image>.elf. Included by the top Makefile; the
# images are prerequisites of `fixtures`, so `all` and `test` build them.

QFW_DIR := emu/qemu/firmware
QFW_OUT := $(BUILD)/qemu-firmware
QFW_CFLAGS = -std=c11 -Os -g -mthumb -mfloat-abi=soft -ffreestanding -ffunction-sections \
	-fdata-sections -fno-tree-loop-distribute-patterns -Wall -Wextra -MMD -MP \
	$(if $(filter 1,$(WERROR)),-Werror)
QFW_LDFLAGS = -nostdlib -nostartfiles -Wl,--gc-sections -L$(QFW_DIR)/ld \
	$(if $(filter 1,$(WERROR)),-Xlinker --fatal-warnings)
QFW_COMMON := startup.c tick.c uart.c

# <part>-<program>.elf: part_<part>.c, system_<family>.c, <program>.c and the common sources for the
# part's core, linked with its script. N6 images are FSBLs: the tests give their .bin the STM32
# header the boot ROM checks.
QFW_PROGRAMS := hello flash_selftest nor_read bench
QFW_N6_PROGRAMS := hello nor_read
QFW_IMAGES :=
define qfw_part
QFW_IMAGES += $(foreach g,$(5),$(1)-$(g))
$(foreach g,$(5),$(eval $(1)-$(g)_CPU := $(2)))
$(foreach g,$(5),$(eval $(1)-$(g)_LD := $(3)))
$(foreach g,$(5),$(eval $(1)-$(g)_SRC := $(QFW_COMMON) part_$(1).c system_$(4).c $(g).c))
endef
$(eval $(call qfw_part,h743,cortex-m7,h7.ld,h7,$(QFW_PROGRAMS)))
$(eval $(call qfw_part,h723,cortex-m7,h7.ld,h7,$(QFW_PROGRAMS)))
$(eval $(call qfw_part,h7a3,cortex-m7,h7.ld,h7,$(QFW_PROGRAMS)))
$(eval $(call qfw_part,n657,cortex-m55,n6_fsbl.ld,n6,$(QFW_N6_PROGRAMS)))

QFW_OUTPUTS := $(QFW_IMAGES:%=$(QFW_OUT)/%.elf) $(QFW_IMAGES:%=$(QFW_OUT)/%.bin)

fixtures: $(QFW_OUTPUTS)

# Objects are per image: the same source is built for two cores.
define qfw_image
$(QFW_OUT)/obj/$(1)/%.o: $(QFW_DIR)/src/%.c | $(DEPS_STAMP)
	@mkdir -p $$(dir $$@)
	arm-none-eabi-gcc $(QFW_CFLAGS) -mcpu=$($(1)_CPU) -c $$< -o $$@

$(QFW_OUT)/$(1).elf: $(patsubst %.c,$(QFW_OUT)/obj/$(1)/%.o,$($(1)_SRC)) $(wildcard $(QFW_DIR)/ld/*.ld)
	arm-none-eabi-gcc -mcpu=$($(1)_CPU) -mthumb $(QFW_LDFLAGS) -T $($(1)_LD) \
		-Wl,-Map,$$(@:.elf=.map) -o $$@ $(patsubst %.c,$(QFW_OUT)/obj/$(1)/%.o,$($(1)_SRC))
endef
$(foreach i,$(QFW_IMAGES),$(eval $(call qfw_image,$(i))))

$(QFW_OUT)/%.bin: $(QFW_OUT)/%.elf
	arm-none-eabi-objcopy -O binary $< $@

-include $(shell find $(QFW_OUT)/obj -name '*.d' 2>/dev/null)
