/*
 * QUADSPI / OCTOSPI / XSPI: a QEMU wrapper around the flashtwin xspi model
 * (models/xspi.h) and the NOR flash on its bus (models/nor_flash.h).
 *
 * - Registers (sysbus MMIO 0) go to ft_xspi_reg_read/_write, 1-, 2- and
 *   4-byte accesses as the CPU makes them (DR takes all three).
 * - The memory-mapped window (sysbus MMIO 1) holds a ROM device over the NOR
 *   array (the board store's memory-mapped file) at offset 0. While the
 *   controller is in memory-mapped mode with a read command the flash accepts,
 *   reads and instruction fetches hit the array directly (execute in place);
 *   otherwise every access goes through ft_xspi_window_read and fails with a
 *   bus error, and stores always do (memory-mapped writes are not modelled).
 *   On each entry into memory-mapped mode the translated code over the window
 *   is dropped: the flash may have been programmed since.
 * - Addresses past the flash in the window are unassigned: a bus error.
 * - Automatic polling advances when SR is read (HAL's blocking polling); an
 *   interrupt-driven status match (SMIE) waits for the next register access.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/log.h"
#include "qemu/units.h"
#include "hw/irq.h"
#include "hw/qdev-properties.h"
#include "hw/arm/flashtwin/ft_devices.h"

static void xspi_update(FtXspiState *s)
{
    uint32_t generation;
    bool mapped = ft_xspi_mapped(s->x, &generation);

    if (s->nor && (mapped != s->mapped || generation != s->generation)) {
        memory_region_rom_device_set_romd(&s->array_mr, mapped);
        if (mapped && generation != s->generation) {
            /* flushing needs ROMD mode */
            memory_region_flush_rom_device(&s->array_mr, 0,
                                           memory_region_size(&s->array_mr));
            s->generation = generation;
        }
        s->mapped = mapped;
    }
    qemu_set_irq(s->irq, ft_xspi_irq(s->x));
}

static uint64_t xspi_reg_read(void *opaque, hwaddr offset, unsigned size)
{
    FtXspiState *s = opaque;
    uint32_t value = 0;

    ft_time_sync(s->time);
    ft_xspi_reg_read(s->x, offset, size, &value);
    xspi_update(s);
    return value;
}

static void xspi_reg_write(void *opaque, hwaddr offset, uint64_t value,
                           unsigned size)
{
    FtXspiState *s = opaque;
    const ft_diag *before = ft_xspi_last_error(s->x);
    ft_diag last = *before;

    ft_time_sync(s->time);
    ft_xspi_reg_write(s->x, offset, size, value);
    const ft_diag *after = ft_xspi_last_error(s->x);
    if (after->code != FT_OK && memcmp(after, &last, sizeof(last))) {
        qemu_log_mask(LOG_GUEST_ERROR, "ft-xspi: %s: %s: %s\n",
                      ft_error_name(after->code), after->origin,
                      after->message);
    }
    xspi_update(s);
}

static const MemoryRegionOps xspi_reg_ops = {
    .read = xspi_reg_read,
    .write = xspi_reg_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid.min_access_size = 1,
    .valid.max_access_size = 4,
    .impl.min_access_size = 1,
    .impl.max_access_size = 4,
};

static MemTxResult xspi_window_read(void *opaque, hwaddr offset, uint64_t *data,
                                    unsigned size, MemTxAttrs attrs)
{
    FtXspiState *s = opaque;
    uint8_t buf[8];
    ft_diag diag;

    ft_time_sync(s->time);
    ft_error err = ft_xspi_window_read(s->x, offset, buf, size, &diag);
    *data = ldn_le_p(buf, size);
    if (err == FT_OK || err == FT_ERR_BUSY) {
        return MEMTX_OK; /* a busy flash answers 0xFF */
    }
    qemu_log_mask(LOG_GUEST_ERROR,
                  "ft-xspi: window read at 0x%" HWADDR_PRIx ": %s\n", offset,
                  diag.message);
    return MEMTX_ERROR;
}

static MemTxResult xspi_window_write(void *opaque, hwaddr offset, uint64_t data,
                                     unsigned size, MemTxAttrs attrs)
{
    qemu_log_mask(LOG_UNIMP,
                  "ft-xspi: memory-mapped write at 0x%" HWADDR_PRIx
                  " (not modelled)\n",
                  offset);
    return MEMTX_ERROR;
}

static const MemoryRegionOps xspi_window_ops = {
    .read_with_attrs = xspi_window_read,
    .write_with_attrs = xspi_window_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid.min_access_size = 1,
    .valid.max_access_size = 8,
    .impl.min_access_size = 1,
    .impl.max_access_size = 8,
};

static void ft_xspi_dev_reset(DeviceState *dev)
{
    FtXspiState *s = FT_XSPI(dev);

    ft_xspi_reset(s->x);
    xspi_update(s);
}

static void ft_xspi_realize(DeviceState *dev, Error **errp)
{
    FtXspiState *s = FT_XSPI(dev);
    ft_diag diag;

    if (!s->time || (s->nor && !s->array)) {
        error_setg(errp, "ft-xspi: the machine must set the flash first");
        return;
    }
    if (ft_xspi_new(s->variant, s->nor, &s->x, &diag) != FT_OK) {
        error_setg(errp, "ft-xspi: %s", diag.message);
        return;
    }
    memory_region_init_io(&s->regs, OBJECT(s), &xspi_reg_ops, s, "ft-xspi",
                          FT_XSPI_REG_SPAN);
    sysbus_init_mmio(SYS_BUS_DEVICE(s), &s->regs);
    memory_region_init(&s->window, OBJECT(s), "ft-xspi-window", s->window_size);
    sysbus_init_mmio(SYS_BUS_DEVICE(s), &s->window);
    if (s->nor) {
        uint32_t size = ft_nor_part_geometry(ft_nor_part_of(s->nor))->size;
        ft_init_rom_device_ptr(&s->array_mr, OBJECT(s), &xspi_window_ops, s,
                               "ft-xspi-nor", MIN(size, s->window_size),
                               s->array);
        memory_region_rom_device_set_romd(&s->array_mr, false);
        memory_region_add_subregion(&s->window, 0, &s->array_mr);
    }
    sysbus_init_irq(SYS_BUS_DEVICE(s), &s->irq);
}

static Property ft_xspi_properties[] = {
    DEFINE_PROP_UINT32("variant", FtXspiState, variant, FT_XSPI_QUADSPI),
    DEFINE_PROP_UINT32("window-size", FtXspiState, window_size, 256 * MiB),
    DEFINE_PROP_END_OF_LIST(),
};

static void ft_xspi_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->realize = ft_xspi_realize;
    dc->reset = ft_xspi_dev_reset;
    dc->user_creatable = false;
    device_class_set_props(dc, ft_xspi_properties);
}

static const TypeInfo ft_xspi_info = {
    .name = TYPE_FT_XSPI,
    .parent = TYPE_SYS_BUS_DEVICE,
    .instance_size = sizeof(FtXspiState),
    .class_init = ft_xspi_class_init,
};

static void ft_xspi_register_types(void)
{
    type_register_static(&ft_xspi_info);
}

type_init(ft_xspi_register_types)
