/*
 * STM32H7 embedded flash: a QEMU wrapper around the flashtwin flash_h7 model.
 *
 * - FLASH registers (0x52002000, sysbus MMIO 0) go to
 * ft_flash_h7_reg_read/_write.
 * - Each physical bank is a ROM device whose RAM is the model's array (the
 *   board store's memory-mapped file): reads and instruction fetches hit it
 *   directly, every write traps into ft_flash_h7_bus_write. The banks sit in
 *   a container (sysbus MMIO 1, mapped at 0x08000000) where OPTCR.SWAP_BANK
 *   decides which physical bank appears at which address.
 * - Runs of flash words whose ECC state is an error are covered by MMIO
 *   "trap" windows that read through ft_flash_h7_bus_read, so they raise
 *   SNECCERR/DBECCERR and, for a double error, a bus fault, as on silicon.
 * - The model changes the array when an operation completes; the wrapper
 *   invalidates translated code over what may have changed (the words written,
 *   the banks erased) and rescans the ECC state for traps.
 * - The FLASH interrupt (one line, both banks) is the OR of the SR flags with
 *   their CR enables and of OPTSR_CUR.OPTCHANGEERR with OPTCR.OPTCHANGEERRIE.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/log.h"
#include "hw/irq.h"
#include "sysemu/runstate.h"
#include "hw/arm/flashtwin/ft_devices.h"

/* Register offsets and bits used by the wrapper itself (RM0433 §4.9;
 * devices.md §2.1, §2.3). */
#define REG_CR1 0x0C
#define REG_SR1 0x10
#define REG_OPTCR 0x18
#define REG_OPTSR_CUR 0x1C
#define REG_BANK2 0x100
#define CR_START_H74X (1u << 7) /* H74x/H72x CR.START */
#define CR_START_H7AX (1u << 5) /* H7Ax CR.START */
#define CR_IRQ_MASK                                                            \
    0x1FFF0000u /* EOPIE..CRCRDERRIE = SR flags EOP..CRCRDERR                  \
                 */
#define CR_BER (1u << 3)
#define CR_PSIZE_SHIFT 4 /* H74x/H72x CR.PSIZE b5:4; H7Ax has none */
#define OPTCR_OPTSTART (1u << 1)
#define OPTCR_MER (1u << 4)
#define OPT_CHANGEERR                                                          \
    (1u << 30) /* OPTCR.OPTCHANGEERRIE, OPTSR_CUR.OPTCHANGEERR */
#define H7_FLASH_BASE 0x08000000u
#define CONTAINER_SIZE 0x01000000u /* 0x08000000-0x08FFFFFF: banks and OTP */

/* A stalled access is retried after the model's next event; an access still
 * stalled after this many events is dropped (a model that never finishes). */
#define STALL_RETRIES 1024

static const ft_flash_geometry *geom(FtH7FlashState *s)
{
    return &s->part->flash;
}

static uint32_t words_per_bank(FtH7FlashState *s)
{
    return geom(s)->bank_size / geom(s)->word_size;
}

static void mark_dirty(FtH7FlashState *s, unsigned phys, uint32_t lo,
                       uint32_t hi)
{
    if (s->dirty_lo[phys] >= s->dirty_hi[phys]) {
        s->dirty_lo[phys] = lo;
        s->dirty_hi[phys] = hi;
        return;
    }
    s->dirty_lo[phys] = MIN(s->dirty_lo[phys], lo);
    s->dirty_hi[phys] = MAX(s->dirty_hi[phys], hi);
}

static void mark_all_dirty(FtH7FlashState *s)
{
    for (unsigned b = 0; b < geom(s)->banks; b++) {
        mark_dirty(s, b, 0, geom(s)->bank_size);
    }
}

/* The physical bank mapped at an absolute address, and the offset in it;
 * false when no bank is there. */
static bool phys_of(FtH7FlashState *s, uint32_t addr, unsigned *phys,
                    uint32_t *off)
{
    for (unsigned b = 0; b < geom(s)->banks; b++) {
        uint32_t base = s->bank[b].base;
        if (addr >= base && addr - base < geom(s)->bank_size) {
            *phys = b;
            *off = addr - base;
            return true;
        }
    }
    return false;
}

/* ---- ECC traps ----------------------------------------------------------- */

static const MemoryRegionOps flash_bus_ops;

/* Maps the first trap_count[phys] trap windows over their runs (the regions
 * exist from realize on; only their size and address change) and serves the
 * bank through the model when it has more runs than windows. */
static void map_traps(FtH7FlashState *s, unsigned phys)
{
    uint32_t ws = geom(s)->word_size;

    memory_region_transaction_begin();
    for (unsigned i = 0; i < FT_FLASH_MAX_TRAPS; i++) {
        FtFlashWindow *w = &s->trap[phys][i];
        if (memory_region_is_mapped(&w->mr)) {
            memory_region_del_subregion(&s->container, &w->mr);
        }
        if (i >= s->trap_count[phys]) {
            continue;
        }
        w->base = s->bank[phys].base + s->trap_start[phys][i] * ws;
        memory_region_set_size(&w->mr, (uint64_t)s->trap_words[phys][i] * ws);
        memory_region_add_subregion_overlap(&s->container,
                                            w->base - H7_FLASH_BASE, &w->mr, 1);
    }
    memory_region_rom_device_set_romd(&s->bank[phys].mr, !s->bank_mmio[phys]);
    memory_region_transaction_commit();
}

/* Recomputes the runs of words in an ECC error state of one physical bank;
 * remaps the traps when they changed or when force is set. */
static void rescan_traps(FtH7FlashState *s, unsigned phys, bool force)
{
    uint32_t n = words_per_bank(s);
    const uint8_t *ecc = s->ecc + (size_t)phys * n;
    uint32_t start[FT_FLASH_MAX_TRAPS], count[FT_FLASH_MAX_TRAPS];
    unsigned runs = 0;
    bool overflow = false;

    for (uint32_t w = 0; w < n;) {
        if (ecc[w] < FT_FLASH_H7_WORD_SINGLE_ERROR) {
            w++;
            continue;
        }
        uint32_t e = w;
        while (e < n && ecc[e] >= FT_FLASH_H7_WORD_SINGLE_ERROR) {
            e++;
        }
        if (runs == FT_FLASH_MAX_TRAPS) {
            overflow = true;
            runs = 0;
            break;
        }
        start[runs] = w;
        count[runs] = e - w;
        runs++;
        w = e;
    }
    if (!force && overflow == s->bank_mmio[phys] &&
        runs == s->trap_count[phys] &&
        !memcmp(start, s->trap_start[phys], runs * sizeof(start[0])) &&
        !memcmp(count, s->trap_words[phys], runs * sizeof(count[0]))) {
        return;
    }
    s->bank_mmio[phys] = overflow;
    s->trap_count[phys] = runs;
    memcpy(s->trap_start[phys], start, runs * sizeof(start[0]));
    memcpy(s->trap_words[phys], count, runs * sizeof(count[0]));
    map_traps(s, phys);
}

/* True when a word of [lo, hi) (byte offsets in physical bank phys) is in an ECC
 * error state. */
static bool errors_in(FtH7FlashState *s, unsigned phys, uint32_t lo, uint32_t hi)
{
    uint32_t ws = geom(s)->word_size, n = words_per_bank(s);
    const uint8_t *ecc = s->ecc + (size_t)phys * n;
    for (uint32_t w = lo / ws; w < n && w < (hi + ws - 1) / ws; w++) {
        if (ecc[w] >= FT_FLASH_H7_WORD_SINGLE_ERROR) {
            return true;
        }
    }
    return false;
}

/* Makes what the model changed visible to the CPU: translated code over the
 * dirty ranges is dropped and the ECC traps follow the new word states. The
 * ranges are kept while an operation is in flight (the data changes when it
 * completes). */
static void flush_changes(FtH7FlashState *s)
{
    bool idle = ft_flash_h7_next_event_ns(s->fl) == UINT64_MAX;
    for (unsigned b = 0; b < geom(s)->banks; b++) {
        if (s->dirty_lo[b] >= s->dirty_hi[b]) {
            continue;
        }
        /* word states change only where the model wrote or erased: with no
         * trap mapped and no error there the whole-bank scan would find none
         * (the common case, and a scan per bus write made a debugger's 2 KiB
         * write take 10 ms) */
        if (s->trap_count[b] > 0 || s->bank_mmio[b] ||
            errors_in(s, b, s->dirty_lo[b], s->dirty_hi[b])) {
            rescan_traps(s, b, false);
        }
        /* a bank served through the model has no translated code to drop
         * (and flushing needs ROMD mode) */
        if (memory_region_is_romd(&s->bank[b].mr)) {
            memory_region_flush_rom_device(&s->bank[b].mr, s->dirty_lo[b],
                                           s->dirty_hi[b] - s->dirty_lo[b]);
        }
        if (idle) {
            s->dirty_lo[b] = s->dirty_hi[b] = 0;
        }
    }
}

/* ---- bank mapping -------------------------------------------------------- */

static void map_banks(FtH7FlashState *s, bool swapped)
{
    const ft_flash_geometry *g = geom(s);

    memory_region_transaction_begin();
    for (unsigned b = 0; b < g->banks; b++) {
        unsigned slot = (g->banks == 2 && swapped) ? 1 - b : b;
        if (memory_region_is_mapped(&s->bank[b].mr)) {
            memory_region_del_subregion(&s->container, &s->bank[b].mr);
        }
        s->bank[b].base = g->bank_base[slot];
        memory_region_add_subregion(
            &s->container, s->bank[b].base - H7_FLASH_BASE, &s->bank[b].mr);
        rescan_traps(s, b, true);
    }
    s->swapped = swapped;
    memory_region_transaction_commit();
}

/* ---- interrupt and completion timer -------------------------------------- */

static uint32_t reg(FtH7FlashState *s, uint32_t offset)
{
    uint32_t v = 0;
    ft_flash_h7_reg_read(s->fl, offset, &v);
    return v;
}

static void update(FtH7FlashState *s)
{
    flush_changes(s);
    bool level = (reg(s, REG_SR1) & reg(s, REG_CR1) & CR_IRQ_MASK) ||
                 (reg(s, REG_OPTCR) & reg(s, REG_OPTSR_CUR) & OPT_CHANGEERR);
    if (s->part->flash.dual_bank_silicon) {
        level = level || (reg(s, REG_BANK2 + REG_SR1) &
                          reg(s, REG_BANK2 + REG_CR1) & CR_IRQ_MASK);
    }
    qemu_set_irq(s->irq, level);
    uint64_t next = ft_flash_h7_next_event_ns(s->fl);
    if (next == UINT64_MAX) {
        timer_del(&s->timer);
    } else {
        s->timer_deadline = next;
        timer_mod(&s->timer, ft_time_to_qemu(s->time, next));
    }
}

static void flash_timer(void *opaque)
{
    FtH7FlashState *s = opaque;
    /* the timer was set for the moment the model's clock reaches the event,
     * even when that clock runs ahead of QEMU's after a stall */
    ft_time_sync(s->time);
    ft_time_stall_until(s->time, s->timer_deadline);
    ft_flash_h7_poll(s->fl);
    update(s);
}

/* Runs op until the model stops stalling it. */
#define STALLED(s, call)                                                       \
    ({                                                                         \
        ft_error err_ = (call);                                                \
        for (int n_ = 0; err_ == FT_ERR_BUSY && n_ < STALL_RETRIES; n_++) {    \
            ft_time_stall_until((s)->time,                                     \
                                ft_flash_h7_next_event_ns((s)->fl));           \
            err_ = (call);                                                     \
        }                                                                      \
        err_;                                                                  \
    })

/* ---- test faults (machine properties fault-*) ---------------------------- */

/* Adds the modelled duration of an operation to the flash time and, once the
 * watchdog's time has passed, requests a system reset (once). */
static void add_work(FtH7FlashState *s, ft_flash_h7_op op, uint32_t cr)
{
    s->worked_ns += ft_flash_h7_duration_ns(&s->part->flash, op,
                                            (cr >> CR_PSIZE_SHIFT) & 3u);
    if (s->watchdog_ns && !s->watchdog_fired &&
        s->worked_ns >= s->watchdog_ns) {
        s->watchdog_fired = true;
        qemu_log_mask(
            LOG_GUEST_ERROR,
            "ft-h7-flash: fault-watchdog-ms: system reset after %" PRIu64
            " ns of flash operations\n",
            s->worked_ns);
        qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
    }
}

static bool in_word(FtH7FlashState *s, uint32_t word_addr, uint32_t addr)
{
    uint32_t ws = geom(s)->word_size;
    return word_addr && addr / ws == word_addr / ws;
}

/* Applies drop_word and cut_word to a store; true when it is swallowed. */
static bool fault_store(FtH7FlashState *s, uint32_t addr, unsigned size)
{
    uint32_t ws = geom(s)->word_size;
    if (in_word(s, s->drop_word, addr)) {
        return true;
    }
    if (!in_word(s, s->cut_word, addr)) {
        return false;
    }
    if ((addr % ws) + size == ws) {
        /* what a program cut part-way leaves [U]; the caller's update()
         * maps the ECC trap over it */
        ft_flash_h7_inject_ecc_error(s->fl, addr, true);
    }
    return true;
}

/* ---- registers ----------------------------------------------------------- */

static uint64_t flash_reg_read(void *opaque, hwaddr offset, unsigned size)
{
    FtH7FlashState *s = opaque;
    uint32_t value = 0;

    ft_time_sync(s->time);
    if (ft_flash_h7_reg_read(s->fl, offset, &value) != FT_OK) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ft-h7-flash: read of 0x%" HWADDR_PRIx
                      " outside the register block\n",
                      offset);
    }
    update(s);
    return value;
}

static void flash_reg_write(void *opaque, hwaddr offset, uint64_t value,
                            unsigned size)
{
    FtH7FlashState *s = opaque;
    uint32_t start =
        s->part->flash.layout == FT_FLASH_H7AX ? CR_START_H7AX : CR_START_H74X;

    ft_time_sync(s->time);
    ft_error err = STALLED(s, ft_flash_h7_reg_write(s->fl, offset, value));
    if (err == FT_OK && (offset & ~REG_BANK2) == REG_CR1 && (value & start)) {
        add_work(s,
                 (value & CR_BER) ? FT_FLASH_H7_OP_BANK_ERASE
                                  : FT_FLASH_H7_OP_SECTOR_ERASE,
                 value);
    }
    if (err != FT_OK) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ft-h7-flash: write 0x%08" PRIx64
                      " to %s (0x%" HWADDR_PRIx ") not done: %s\n",
                      value, ft_flash_h7_reg_name(s->fl, offset) ?: "reserved",
                      offset, ft_error_name(err));
    }
    /* What an erase or an option change may touch when it completes: a sector
     * or bank erase its bank (taken whole), a mass erase, bank swap or RDP
     * regression everything. */
    if (offset == REG_CR1 && (value & start)) {
        unsigned phys = 0, off;
        phys_of(s, H7_FLASH_BASE, &phys, &off);
        mark_dirty(s, phys, 0, geom(s)->bank_size);
    } else if (offset == REG_BANK2 + REG_CR1 && (value & start)) {
        unsigned phys = 0, off;
        phys_of(s, geom(s)->bank_base[1], &phys, &off);
        mark_dirty(s, phys, 0, geom(s)->bank_size);
    } else if (offset == REG_OPTCR && (value & (OPTCR_OPTSTART | OPTCR_MER))) {
        mark_all_dirty(s);
    }
    update(s);
}

static const MemoryRegionOps flash_reg_ops = {
    .read = flash_reg_read,
    .write = flash_reg_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid.min_access_size = 4,
    .valid.max_access_size = 4,
};

/* ---- flash array, OTP and traps ------------------------------------------ */

static MemTxResult flash_bus_read(void *opaque, hwaddr offset, uint64_t *data,
                                  unsigned size, MemTxAttrs attrs)
{
    FtFlashWindow *w = opaque;
    FtH7FlashState *s = w->s;
    uint32_t addr = w->base + offset;
    uint8_t buf[8] = {0};
    bool fault = false;

    ft_time_sync(s->time);
    ft_error err =
        STALLED(s, ft_flash_h7_bus_read(s->fl, addr, buf, size, &fault));
    update(s);
    *data = ldn_le_p(buf, size);
    return (err != FT_OK || fault) ? MEMTX_ERROR : MEMTX_OK;
}

static MemTxResult flash_bus_write(void *opaque, hwaddr offset, uint64_t data,
                                   unsigned size, MemTxAttrs attrs)
{
    FtFlashWindow *w = opaque;
    FtH7FlashState *s = w->s;
    uint32_t addr = w->base + offset;
    uint8_t buf[8];
    bool fault = false;
    unsigned phys;
    uint32_t off;

    stn_le_p(buf, size, data);
    ft_time_sync(s->time);
    ft_error err = FT_OK;
    if (!fault_store(s, addr, size)) {
        err = STALLED(s, ft_flash_h7_bus_write(s->fl, addr, buf, size, &fault));
    }
    if (err == FT_OK && !fault &&
        (addr % geom(s)->word_size) + size == geom(s)->word_size) {
        add_work(s, FT_FLASH_H7_OP_PROGRAM, reg(s, REG_CR1));
    }
    if (err != FT_OK) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ft-h7-flash: %u-byte store at 0x%08" PRIx32
                      " refused: %s\n",
                      size, addr, ft_error_name(err));
    }
    if (phys_of(s, addr, &phys, &off)) {
        uint32_t ws = geom(s)->word_size;
        mark_dirty(s, phys, off / ws * ws, off / ws * ws + ws);
    }
    update(s);
    return (err == FT_ERR_RANGE || fault) ? MEMTX_ERROR : MEMTX_OK;
}

static const MemoryRegionOps flash_bus_ops = {
    .read_with_attrs = flash_bus_read,
    .write_with_attrs = flash_bus_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid.min_access_size = 1,
    .valid.max_access_size = 8,
    .impl.min_access_size = 1,
    .impl.max_access_size = 8,
};

static void ft_h7_flash_reset(DeviceState *dev)
{
    FtH7FlashState *s = FT_H7_FLASH(dev);
    ft_flash_h7_options opt;

    ft_time_sync(s->time);
    ft_flash_h7_reset(s->fl);
    ft_flash_h7_get_options(s->fl, &opt);
    map_banks(s, opt.banks_swapped);
    mark_all_dirty(s);
    update(s);
}

static void ft_h7_flash_realize(DeviceState *dev, Error **errp)
{
    FtH7FlashState *s = FT_H7_FLASH(dev);
    const ft_flash_geometry *g;

    if (!s->fl || !s->part || !s->time || !s->array || !s->ecc) {
        error_setg(errp, "ft-h7-flash: the machine must set the model first");
        return;
    }
    g = geom(s);
    memory_region_init_io(&s->regs, OBJECT(s), &flash_reg_ops, s,
                          "ft-flash-regs", FT_FLASH_H7_REG_SPAN);
    sysbus_init_mmio(SYS_BUS_DEVICE(s), &s->regs);
    memory_region_init(&s->container, OBJECT(s), "ft-flash", CONTAINER_SIZE);
    sysbus_init_mmio(SYS_BUS_DEVICE(s), &s->container);
    for (unsigned b = 0; b < g->banks; b++) {
        s->bank[b].s = s;
        ft_init_rom_device_ptr(
            &s->bank[b].mr, OBJECT(s), &flash_bus_ops, &s->bank[b],
            b ? "ft-flash-bank2" : "ft-flash-bank1", g->bank_size,
            s->array + (size_t)b * g->bank_size);
    }
    if (g->layout == FT_FLASH_H7AX) {
        s->otp.s = s;
        s->otp.base = FT_FLASH_H7_OTP_BASE;
        memory_region_init_io(&s->otp.mr, OBJECT(s), &flash_bus_ops, &s->otp,
                              "ft-flash-otp", FT_FLASH_H7_OTP_SIZE);
        memory_region_add_subregion(
            &s->container, FT_FLASH_H7_OTP_BASE - H7_FLASH_BASE, &s->otp.mr);
    }
    for (unsigned b = 0; b < g->banks; b++) {
        for (unsigned i = 0; i < FT_FLASH_MAX_TRAPS; i++) {
            s->trap[b][i].s = s;
            memory_region_init_io(&s->trap[b][i].mr, OBJECT(s), &flash_bus_ops,
                                  &s->trap[b][i], "ft-flash-ecc-trap",
                                  g->word_size);
        }
    }
    sysbus_init_irq(SYS_BUS_DEVICE(s), &s->irq);
    timer_init_ns(&s->timer, QEMU_CLOCK_VIRTUAL, flash_timer, s);
    map_banks(s, false);
}

static void ft_h7_flash_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->realize = ft_h7_flash_realize;
    dc->reset = ft_h7_flash_reset;
    dc->user_creatable = false;
}

static const TypeInfo ft_h7_flash_info = {
    .name = TYPE_FT_H7_FLASH,
    .parent = TYPE_SYS_BUS_DEVICE,
    .instance_size = sizeof(FtH7FlashState),
    .class_init = ft_h7_flash_class_init,
};

static void ft_h7_flash_register_types(void)
{
    type_register_static(&ft_h7_flash_info);
}

type_init(ft_h7_flash_register_types)
