# Test firmware for the flashtwin QEMU machines (emu/qemu/firmware/README.md), built with
# arm-none-eabi-gcc into $(BUILD)/qemu-firmware/<image>.elf. Included by the top Makefile; the
# images are prerequisites of `fixtures`, so `all` and `test` build them.

QFW_DIR := emu/qemu/firmware
QFW_OUT := $(BUILD)/qemu-firmware
QFW_CFLAGS = -std=c11 -Os -g -mthumb -mcpu=cortex-m7 -mfloat-abi=soft -ffreestanding \
	-ffunction-sections -fdata-sections -fno-tree-loop-distribute-patterns -Wall -Wextra -MMD -MP \
	$(if $(filter 1,$(WERROR)),-Werror)
QFW_LDFLAGS = -nostdlib -nostartfiles -Wl,--gc-sections -L$(QFW_DIR)/ld \
	$(if $(filter 1,$(WERROR)),-Xlinker --fatal-warnings)
QFW_COMMON := startup.c system.c uart.c

# <part>-<program>: part_<part>.c + <program>.c + the common sources, linked with ld/h7.ld.
QFW_PARTS := h743 h723 h7a3
QFW_PROGRAMS := hello flash_selftest
QFW_IMAGES := $(foreach p,$(QFW_PARTS),$(foreach g,$(QFW_PROGRAMS),$(p)-$(g)))
QFW_OUTPUTS := $(QFW_IMAGES:%=$(QFW_OUT)/%.elf)

fixtures: $(QFW_OUTPUTS)

$(QFW_OUT)/obj/%.o: $(QFW_DIR)/src/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	arm-none-eabi-gcc $(QFW_CFLAGS) -c $< -o $@

qfw_objs = $(patsubst %.c,$(QFW_OUT)/obj/%.o,$(QFW_COMMON) part_$(1).c $(2).c)

define qfw_image
$(QFW_OUT)/$(1)-$(2).elf: $(call qfw_objs,$(1),$(2)) $(wildcard $(QFW_DIR)/ld/*.ld)
	arm-none-eabi-gcc -mcpu=cortex-m7 -mthumb $(QFW_LDFLAGS) -T h7.ld \
		-Wl,-Map,$$(@:.elf=.map) -o $$@ $(call qfw_objs,$(1),$(2))
endef
$(foreach p,$(QFW_PARTS),$(foreach g,$(QFW_PROGRAMS),$(eval $(call qfw_image,$(p),$(g)))))

-include $(shell find $(QFW_OUT)/obj -name '*.d' 2>/dev/null)
