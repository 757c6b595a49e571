/*
 * What the flashtwin devices share: virtual time (an ft_clock in manual mode
 * follows QEMU_CLOCK_VIRTUAL; ft_devices.h says how stalls move it ahead) and
 * ROM devices over host memory.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/ram_addr.h"
#include "sysemu/runstate.h"
#include "hw/arm/flashtwin/ft_devices.h"

/* memory_region_init_rom_device with qemu_ram_alloc_from_ptr instead of
 * qemu_ram_alloc. The region lives as long as the machine. */
void ft_init_rom_device_ptr(MemoryRegion *mr, Object *owner,
                            const MemoryRegionOps *ops, void *opaque,
                            const char *name, uint64_t size, void *host)
{
    memory_region_init_io(mr, owner, ops, opaque, name, size);
    mr->rom_device = true;
    mr->ram_block = qemu_ram_alloc_from_ptr(size, host, mr, &error_fatal);
}

static void advance_to(FtTime *t, uint64_t target_ns)
{
    uint64_t now = ft_clock_now_ns(t->clock);
    if (target_ns > now) {
        ft_clock_advance(t->clock, target_ns - now);
    }
}

void ft_time_sync(FtTime *t)
{
    int64_t v = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) - t->origin_ns;
    advance_to(t, v > 0 ? (uint64_t)v : 0);
    if (runstate_is_running()) {
        t->paused = false;
        return;
    }
    /* a debugger polling FLASH_SR of a halted core: the erase it started
     * must end in host time, as on silicon */
    int64_t host = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    if (!t->paused) {
        t->paused = true;
        t->paused_host_ns = host;
        t->paused_ft_ns = ft_clock_now_ns(t->clock);
    }
    advance_to(t, t->paused_ft_ns + (uint64_t)(host - t->paused_host_ns));
}

void ft_time_stall_until(FtTime *t, uint64_t deadline_ns)
{
    if (deadline_ns != UINT64_MAX) {
        advance_to(t, deadline_ns);
    }
}

int64_t ft_time_to_qemu(const FtTime *t, uint64_t deadline_ns)
{
    uint64_t now = ft_clock_now_ns(t->clock);
    int64_t qnow = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    /* the ft clock may be ahead of QEMU's after a stall: fire when QEMU's
     * clock has moved by what is left */
    return deadline_ns <= now ? qnow : qnow + (int64_t)(deadline_ns - now);
}
