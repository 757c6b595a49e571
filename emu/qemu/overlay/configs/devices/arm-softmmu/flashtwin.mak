# Devices of the flashtwin build of qemu-system-arm (`make qemu`: configure --with-devices-arm=flashtwin
# --without-default-devices): the four Nucleo machines and nothing else, to keep the build short.
CONFIG_FLASHTWIN_NUCLEO=y
CONFIG_SEMIHOSTING=y
CONFIG_ARM_COMPATIBLE_SEMIHOSTING=y
