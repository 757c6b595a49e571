/*
 * Identification registers: DBGMCU (IDCODE = REV_ID << 16 | DEV_ID, the
 * freeze and control registers store what is written), the 96-bit unique ID
 * and the flash-size register (KB in the low half-word). Addresses and IDs
 * come from the part table (models/parts.c; devices.md §1.1-§1.6).
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "hw/qdev-properties.h"
#include "hw/arm/flashtwin/ft_devices.h"

#define DBGMCU_IDCODE 0x00
#define DBGMCU_SPAN 0x40

static uint64_t dbgmcu_read(void *opaque, hwaddr offset, unsigned size)
{
    FtSysinfoState *s = opaque;

    if (offset == DBGMCU_IDCODE) {
        return s->idcode;
    }
    return s->dbgmcu_regs[offset / 4];
}

static void dbgmcu_write(void *opaque, hwaddr offset, uint64_t value,
                         unsigned size)
{
    FtSysinfoState *s = opaque;

    if (offset == DBGMCU_IDCODE) {
        qemu_log_mask(LOG_GUEST_ERROR, "ft-sysinfo: DBGMCU_IDCODE is "
                                       "read-only\n");
        return;
    }
    s->dbgmcu_regs[offset / 4] = value;
}

static const MemoryRegionOps dbgmcu_ops = {
    .read = dbgmcu_read,
    .write = dbgmcu_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid.min_access_size = 4,
    .valid.max_access_size = 4,
};

/* UID and flash size: read-only bytes, any width. */
static uint64_t id_read(FtSysinfoState *s, const uint8_t *bytes, size_t len,
                        hwaddr offset, unsigned size)
{
    uint8_t buf[8] = {0};
    memcpy(buf, bytes + offset, MIN(size, len - offset));
    return ldn_le_p(buf, size);
}

static uint64_t uid_read(void *opaque, hwaddr offset, unsigned size)
{
    FtSysinfoState *s = opaque;
    uint8_t bytes[12];
    for (int i = 0; i < 3; i++) {
        stl_le_p(bytes + 4 * i, s->uid[i]);
    }
    return id_read(s, bytes, sizeof(bytes), offset, size);
}

static uint64_t size_read(void *opaque, hwaddr offset, unsigned size)
{
    FtSysinfoState *s = opaque;
    uint8_t bytes[4];
    stl_le_p(bytes, s->flash_kb & 0xFFFF);
    return id_read(s, bytes, sizeof(bytes), offset, size);
}

static void id_write(void *opaque, hwaddr offset, uint64_t value, unsigned size)
{
    qemu_log_mask(LOG_GUEST_ERROR, "ft-sysinfo: write to a read-only "
                                   "identification register\n");
}

static const MemoryRegionOps uid_ops = {
    .read = uid_read,
    .write = id_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid.min_access_size = 1,
    .valid.max_access_size = 4,
};

static const MemoryRegionOps size_ops = {
    .read = size_read,
    .write = id_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid.min_access_size = 1,
    .valid.max_access_size = 4,
};

static void ft_sysinfo_reset(DeviceState *dev)
{
    FtSysinfoState *s = FT_SYSINFO(dev);
    memset(s->dbgmcu_regs, 0, sizeof(s->dbgmcu_regs));
}

static void ft_sysinfo_init(Object *obj)
{
    FtSysinfoState *s = FT_SYSINFO(obj);

    memory_region_init_io(&s->dbgmcu, obj, &dbgmcu_ops, s, "ft-dbgmcu",
                          DBGMCU_SPAN);
    memory_region_init_io(&s->uid_io, obj, &uid_ops, s, "ft-uid", 12);
    memory_region_init_io(&s->size_io, obj, &size_ops, s, "ft-flash-size", 4);
    sysbus_init_mmio(SYS_BUS_DEVICE(obj), &s->dbgmcu);
    sysbus_init_mmio(SYS_BUS_DEVICE(obj), &s->uid_io);
    sysbus_init_mmio(SYS_BUS_DEVICE(obj), &s->size_io);
}

static Property ft_sysinfo_properties[] = {
    DEFINE_PROP_UINT32("idcode", FtSysinfoState, idcode, 0),
    DEFINE_PROP_UINT32("uid0", FtSysinfoState, uid[0], 0),
    DEFINE_PROP_UINT32("uid1", FtSysinfoState, uid[1], 0),
    DEFINE_PROP_UINT32("uid2", FtSysinfoState, uid[2], 0),
    DEFINE_PROP_UINT32("flash-kb", FtSysinfoState, flash_kb, 0),
    DEFINE_PROP_END_OF_LIST(),
};

static void ft_sysinfo_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->reset = ft_sysinfo_reset;
    device_class_set_props(dc, ft_sysinfo_properties);
}

static const TypeInfo ft_sysinfo_info = {
    .name = TYPE_FT_SYSINFO,
    .parent = TYPE_SYS_BUS_DEVICE,
    .instance_size = sizeof(FtSysinfoState),
    .instance_init = ft_sysinfo_init,
    .class_init = ft_sysinfo_class_init,
};

static void ft_sysinfo_register_types(void)
{
    type_register_static(&ft_sysinfo_info);
}

type_init(ft_sysinfo_register_types)
