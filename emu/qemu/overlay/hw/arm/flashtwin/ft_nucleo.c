/*
 * flashtwin Nucleo machines: nucleo-h743zi2, nucleo-h723zg, nucleo-h7a3zi-q
 * (Cortex-M7) and nucleo-n657x0-q (Cortex-M55).
 *
 * A machine hosts one flashtwin board (emu/board_runtime.h): the board file
 * names the part, its revision, UID, BOOT0 level and external NOR flash; the
 * state directory holds the flash, ECC state, option bytes and NOR contents,
 * the same directory flashtwin-emu uses. The memory map is built from the
 * part table (models/parts.c): every RAM, system memory, the flash (through
 * ft-h7-flash), the external-memory windows; every peripheral region is an
 * unimplemented device that logs accesses (-d unimp), under the devices that
 * are modelled (flash controller, RCC/PWR, the ST-LINK virtual COM port
 * USART, DBGMCU, UID and flash-size registers).
 *
 * Machine properties:
 *   board=FILE     board file (default: the machine's Nucleo board)
 *   state=DIR      state directory (default: a temporary one, removed at exit)
 *   boot0=on|off   BOOT0 pin (default: the board file's)
 *   boot1=on|off   N6 BOOT1 pin: on = development boot (default off)
 *   timing=real|instant  flash and NOR operations take datasheet time on
 *                  QEMU's virtual clock, or none (default real)
 * Test faults (flashtwin-emu --fault; docs/emulator.md), all off by default:
 *   fault-drop-word=ADDR   stores into the H7 flash word at ADDR are dropped
 *   fault-cut-word=ADDR    the program of the flash word at ADDR is cut: the
 *                          word reads with a double ECC error
 *   fault-watchdog-ms=N    a system reset once the modelled erase and program
 *                          time reaches N ms (an IWDG the debugger does not
 *                          freeze)
 *   fault-core-sleeps=on   the core sleeps with the DBGMCU low-power debug bits
 *                          clear: DHCSR reads C_DEBUGEN | S_SLEEP and ignores
 *                          halt requests (S_HALT never sets)
 *
 * Boot. H7: at every reset the core takes its vector table from BOOT_ADD0
 * (BOOT0 low) or BOOT_ADD1 (BOOT0 high) of the option bytes in effect, as
 * the silicon does. System memory holds no bootloader (flashtwin-emu serves
 * the system DFU bootloader over USB/IP): a vector table whose reset handler
 * waits in WFI. N6: the boot ROM's observable behaviour is modelled in C at
 * reset: in flash boot (BOOT1 low, BOOT0 low) it checks the STM32 header
 * (v2.3) at the start of the XSPI2 NOR, copies header and image to AXISRAM2
 * (0x34180000) and starts the image at the header's entry point with VTOR at
 * the image; in development boot, or when the header is refused, the core
 * waits in the boot ROM for a debugger.
 *
 * -kernel loads an ELF or binary through QEMU's loader: meant for RAM images
 * (N6 development boot). Data it puts into the H7 flash bypasses the flash
 * model (no ECC state); program the flash through flashtwin instead.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-visit-common.h"
#include "qapi/visitor.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/units.h"
#include "exec/address-spaces.h"
#include "hw/arm/armv7m.h"
#include "hw/arm/boot.h"
#include "hw/boards.h"
#include "hw/clock.h"
#include "hw/misc/unimp.h"
#include "hw/qdev-clock.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "sysemu/reset.h"
#include "sysemu/runstate.h"
#include "sysemu/sysemu.h"
#include "target/arm/cpu.h"
#include "hw/arm/flashtwin/ft_devices.h"

#include "emu/board_runtime.h"

#define TYPE_FT_NUCLEO_MACHINE MACHINE_TYPE_NAME("ft-nucleo")
OBJECT_DECLARE_TYPE(FtNucleoMachineState, FtNucleoMachineClass,
                    FT_NUCLEO_MACHINE)

/* A QUADSPI/OCTOSPI/XSPI controller: the board buses on it, registers,
 * memory-mapped window and interrupt. */
typedef struct FtSpiInfo {
    const char *name;
    ft_board_bus buses[2]; /* FT_BOARD_BUS_NONE when unused */
    uint32_t regs, window;
    int irq;
} FtSpiInfo;

#define FT_MAX_SPI 3

/* What differs between the four machines. */
typedef struct FtNucleoInfo {
    const char *name;
    const char *desc;
    ft_family family;
    const char *default_board; /* board file text when board= is not given */
    const char *cpu_type;
    uint32_t num_irq;
    uint32_t sysclk_hz;
    FtRccVariant rcc;
    uint32_t rcc_base, pwr_base;
    uint32_t usart_base; /* the ST-LINK virtual COM port */
    int usart_irq;
    int flash_irq; /* -1: no embedded flash */
    ft_xspi_variant spi_variant;
    FtSpiInfo spi[FT_MAX_SPI]; /* name NULL: absent */
    /* N6: every peripheral also answers at its secure alias, this far above */
    uint32_t secure_alias;
} FtNucleoInfo;

struct FtNucleoMachineClass {
    MachineClass parent;
    const FtNucleoInfo *info;
};

#define FT_MAX_RAMS 48

struct FtNucleoMachineState {
    MachineState parent;

    char *board_path;
    char *state_dir;
    char *timing;
    OnOffAuto boot0, boot1;
    uint32_t fault_drop_word, fault_cut_word, fault_watchdog_ms;
    bool fault_core_sleeps;

    ft_board_runtime *rt;
    char *tmp_state; /* temporary state directory removed at exit */
    Notifier exit_notifier;
    FtTime time;
    bool boot0_level;

    ARMv7MState armv7m;
    Clock *sysclk, *refclk;
    FtH7FlashState flash;
    FtRccState rcc;
    FtUsartState usart;
    FtSysinfoState sysinfo;
    FtXspiState spi[FT_MAX_SPI];
    MemoryRegion alias[16]; /* secure aliases of peripheral register blocks */
    unsigned alias_count;
    MemoryRegion ram[FT_MAX_RAMS]; /* RAMs, ROMs and their secure aliases */
    unsigned ram_count;
    MemoryRegion dhcsr; /* fault-core-sleeps: DHCSR over the SCS's */
};

/* STM32N6 boot ROM model (devices.md §6.1, §6.2). */
#define N6_FSBL_LOAD 0x34180000u  /* AXISRAM2 (secure alias): header + image */
#define N6_HEADER_SIZE 0x400u     /* the image starts 0x400 into the file */
#define N6_MAX_IMAGE (512u * KiB) /* header included */
#define N6_MAGIC 0x324D5453u      /* "STM2" little-endian */
#define N6_HDR_CHECKSUM 0x64
#define N6_HDR_VERSION 0x68
#define N6_HDR_LENGTH 0x6C
#define N6_HDR_ENTRY 0x70

/* Vector table of the stand-in for system memory / the N6 boot ROM: initial
 * SP, then a reset handler at +8 that waits (WFI; B .-2). */
static void fill_wait_rom(uint8_t *p, uint32_t base, uint32_t sp)
{
    stl_le_p(p + 0, sp);
    stl_le_p(p + 4, (base + 8) | 1);
    stw_le_p(p + 8, 0xBF30);  /* wfi */
    stw_le_p(p + 10, 0xE7FD); /* b.n back to the wfi */
}

/* ---- the board ------------------------------------------------------------
 */

static void remove_tmp_state(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    if (d) {
        while ((name = g_dir_read_name(d))) {
            g_autofree char *path = g_build_filename(dir, name, NULL);
            unlink(path);
        }
        g_dir_close(d);
    }
    rmdir(dir);
}

static void ft_nucleo_exit(Notifier *n, void *data)
{
    FtNucleoMachineState *m =
        container_of(n, FtNucleoMachineState, exit_notifier);
    ft_diag diag;

    if (ft_board_runtime_close(m->rt, &diag) != FT_OK) {
        error_report("flashtwin: saving the board state: %s: %s", diag.origin,
                     diag.message);
    }
    m->rt = NULL;
    if (m->tmp_state) {
        remove_tmp_state(m->tmp_state);
    }
}

static void open_board(FtNucleoMachineState *m, const FtNucleoInfo *info)
{
    ft_board_runtime_config cfg = {0};
    g_autofree char *tmp_board = NULL;
    ft_diag diag = {0};

    cfg.board_path = m->board_path;
    if (!cfg.board_path) {
        int fd = g_file_open_tmp("ft-board-XXXXXX.board", &tmp_board, NULL);
        if (fd < 0 ||
            write(fd, info->default_board, strlen(info->default_board)) < 0) {
            error_report("flashtwin: cannot write a temporary board file");
            exit(1);
        }
        close(fd);
        cfg.board_path = tmp_board;
        cfg.board_name = info->name;
    }
    cfg.state_dir = m->state_dir;
    if (!cfg.state_dir) {
        m->tmp_state = g_dir_make_tmp("ft-state-XXXXXX", NULL);
        if (!m->tmp_state) {
            error_report("flashtwin: cannot create a temporary state "
                         "directory");
            exit(1);
        }
        cfg.state_dir = m->tmp_state;
    }
    if (!m->timing || !strcmp(m->timing, "real")) {
        cfg.clock_mode = FT_CLOCK_MANUAL;
    } else if (!strcmp(m->timing, "instant")) {
        cfg.clock_mode = FT_CLOCK_INSTANT;
    } else {
        error_report("flashtwin: timing=%s: expected real or instant",
                     m->timing);
        exit(1);
    }
    ft_error err = ft_board_runtime_open(&cfg, &m->rt, &diag);
    if (tmp_board) {
        unlink(tmp_board);
    }
    if (err != FT_OK) {
        error_report("flashtwin: %s: %s", diag.origin, diag.message);
        exit(1);
    }
    const ft_part *part = ft_board_runtime_part(m->rt);
    if (part->family != info->family) {
        error_report("flashtwin: board %s carries %s, which machine %s does "
                     "not model",
                     ft_board_runtime_name(m->rt), part->name, info->name);
        exit(1);
    }
    m->time.clock = ft_board_runtime_clock(m->rt);
    m->time.origin_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    m->exit_notifier.notify = ft_nucleo_exit;
    qemu_add_exit_notifier(&m->exit_notifier);
    m->boot0_level = m->boot0 == ON_OFF_AUTO_AUTO
                         ? ft_board_runtime_boot0(m->rt)
                         : m->boot0 == ON_OFF_AUTO_ON;
}

/* ---- memory map -----------------------------------------------------------
 */

static const char *secure_suffix = " (secure)";

/* The non-secure RAM a secure alias region mirrors (N6: same name without
 * the suffix, 0x10000000 lower), or NULL. */
static MemoryRegion *ns_twin(FtNucleoMachineState *m, const ft_part *part,
                             const ft_region *r)
{
    size_t len = strlen(r->name), slen = strlen(secure_suffix);
    if (len <= slen || strcmp(r->name + len - slen, secure_suffix)) {
        return NULL;
    }
    for (unsigned i = 0; i < m->ram_count; i++) {
        MemoryRegion *mr = &m->ram[i];
        const char *n = memory_region_name(mr);
        if (strlen(n) == len - slen && !strncmp(n, r->name, len - slen) &&
            mr->addr == r->start - 0x10000000u) {
            return mr;
        }
    }
    return NULL;
}

static void map_ram(FtNucleoMachineState *m, const ft_part *part,
                    const ft_region *r)
{
    MemoryRegion *sys = get_system_memory();
    MemoryRegion *twin = ns_twin(m, part, r);

    assert(m->ram_count < FT_MAX_RAMS);
    MemoryRegion *mr = &m->ram[m->ram_count++];
    if (twin) {
        memory_region_init_alias(mr, NULL, r->name, twin, 0, r->size);
    } else {
        memory_region_init_ram(mr, NULL, r->name, r->size, &error_fatal);
    }
    memory_region_add_subregion(sys, r->start, mr);
}

static void map_system_memory(FtNucleoMachineState *m, const ft_part *part,
                              const ft_region *r)
{
    MemoryRegion *sys = get_system_memory();
    MemoryRegion *twin = ns_twin(m, part, r);

    if (twin) {
        assert(m->ram_count < FT_MAX_RAMS);
        MemoryRegion *mr = &m->ram[m->ram_count++];
        memory_region_init_alias(mr, NULL, r->name, twin, 0, r->size);
        memory_region_add_subregion(sys, r->start, mr);
        return;
    }
    /* kept in ram[] so a secure alias can find it */
    assert(m->ram_count < FT_MAX_RAMS);
    MemoryRegion *mr = &m->ram[m->ram_count++];
    memory_region_init_rom(mr, NULL, r->name, r->size, &error_fatal);
    uint8_t *p = memory_region_get_ram_ptr(mr);
    memset(p, 0xFF, r->size);
    /* initial SP: the top of DTCM (0x20020000 on every part here) */
    fill_wait_rom(p, r->start, 0x20020000u);
    memory_region_add_subregion(sys, r->start, mr);
}

static void build_memory_map(FtNucleoMachineState *m, const ft_part *part)
{
    for (size_t i = 0; i < part->region_count; i++) {
        const ft_region *r = &part->regions[i];
        switch (r->kind) {
        case FT_REGION_ITCM:
        case FT_REGION_DTCM:
        case FT_REGION_AXI_SRAM:
        case FT_REGION_AHB_SRAM:
        case FT_REGION_SRD_SRAM:
        case FT_REGION_BACKUP_SRAM: map_ram(m, part, r); break;
        case FT_REGION_SYSTEM_MEMORY: map_system_memory(m, part, r); break;
        case FT_REGION_PERIPHERAL:
            /* the PPB belongs to armv7m (NVIC, SysTick, SCB, MPU) */
            if (r->start != 0xE0000000u) {
                create_unimplemented_device(r->name, r->start, r->size);
            }
            break;
        case FT_REGION_FLASH_BANK: /* ft-h7-flash maps banks and OTP */
        case FT_REGION_OTP:
        case FT_REGION_HOLE:       /* nothing there: a bus fault */
        case FT_REGION_EXT_WINDOW: /* the NOR controllers map their windows */
            break;
        }
    }
}

/* ---- devices --------------------------------------------------------------
 */

/* Realizes a device and maps its MMIO n at base, and at base + the secure
 * alias offset on parts that have one. */
static void map_mmio(FtNucleoMachineState *m, const FtNucleoInfo *info,
                     SysBusDevice *dev, int n, hwaddr base)
{
    sysbus_mmio_map(dev, n, base);
    if (info->secure_alias) {
        MemoryRegion *mr = sysbus_mmio_get_region(dev, n);
        assert(m->alias_count < ARRAY_SIZE(m->alias));
        MemoryRegion *alias = &m->alias[m->alias_count++];
        memory_region_init_alias(alias, OBJECT(m), "secure alias", mr, 0,
                                 memory_region_size(mr));
        memory_region_add_subregion(get_system_memory(),
                                    base + info->secure_alias, alias);
    }
}

static void realize_mmio(FtNucleoMachineState *m, const FtNucleoInfo *info,
                         SysBusDevice *dev, hwaddr base0)
{
    sysbus_realize(dev, &error_fatal);
    map_mmio(m, info, dev, 0, base0);
}

/* The writable store mapping of a region the runtime has mapped already
 * (mapping it again returns the same memory). */
static uint8_t *store_region(FtNucleoMachineState *m, const char *name,
                             size_t size, uint8_t fill)
{
    uint8_t *mem;
    bool fresh;
    ft_diag diag;

    if (ft_store_map(ft_board_runtime_store(m->rt), name, size, fill, &mem,
                     &fresh, &diag) != FT_OK) {
        error_report("flashtwin: %s: %s", diag.origin, diag.message);
        exit(1);
    }
    return mem;
}

static const ft_board_runtime_nor *nor_on(FtNucleoMachineState *m,
                                          const FtSpiInfo *spi)
{
    for (size_t i = 0; i < ft_board_runtime_nor_count(m->rt); i++) {
        const ft_board_runtime_nor *n = ft_board_runtime_nor_at(m->rt, i);
        for (int b = 0; b < 2; b++) {
            if (spi->buses[b] != FT_BOARD_BUS_NONE && n->bus == spi->buses[b]) {
                return n;
            }
        }
    }
    return NULL;
}

static void create_spi(FtNucleoMachineState *m, const FtNucleoInfo *info,
                       unsigned i)
{
    const FtSpiInfo *spi = &info->spi[i];
    const ft_part *part = ft_board_runtime_part(m->rt);
    const ft_region *window = ft_part_region_at(part, spi->window);
    const ft_board_runtime_nor *n = nor_on(m, spi);
    FtXspiState *s = &m->spi[i];

    object_initialize_child(OBJECT(m), "spi[*]", s, TYPE_FT_XSPI);
    qdev_prop_set_uint32(DEVICE(s), "variant", info->spi_variant);
    qdev_prop_set_uint32(DEVICE(s), "window-size", window->size);
    s->time = &m->time;
    if (n) {
        s->nor = n->nor;
        s->array = store_region(
            m, n->region, ft_nor_part_geometry(ft_nor_part_of(n->nor))->size,
            0xFF);
    }
    realize_mmio(m, info, SYS_BUS_DEVICE(s), spi->regs);
    sysbus_mmio_map(SYS_BUS_DEVICE(s), 1, spi->window);
    sysbus_connect_irq(SYS_BUS_DEVICE(s), 0,
                       qdev_get_gpio_in(DEVICE(&m->armv7m), spi->irq));
}

static void create_devices(FtNucleoMachineState *m, const FtNucleoInfo *info)
{
    const ft_part *part = ft_board_runtime_part(m->rt);
    DeviceState *armv7m = DEVICE(&m->armv7m);
    uint32_t uid[3];

    /* RCC and PWR */
    object_initialize_child(OBJECT(m), "rcc", &m->rcc, TYPE_FT_RCC);
    qdev_prop_set_uint32(DEVICE(&m->rcc), "variant", info->rcc);
    realize_mmio(m, info, SYS_BUS_DEVICE(&m->rcc), info->rcc_base);
    map_mmio(m, info, SYS_BUS_DEVICE(&m->rcc), 1, info->pwr_base);

    /* the ST-LINK virtual COM port */
    object_initialize_child(OBJECT(m), "usart", &m->usart, TYPE_FT_USART);
    qdev_prop_set_chr(DEVICE(&m->usart), "chardev", serial_hd(0));
    realize_mmio(m, info, SYS_BUS_DEVICE(&m->usart), info->usart_base);
    sysbus_connect_irq(SYS_BUS_DEVICE(&m->usart), 0,
                       qdev_get_gpio_in(armv7m, info->usart_irq));

    /* DBGMCU, UID, flash size */
    object_initialize_child(OBJECT(m), "sysinfo", &m->sysinfo, TYPE_FT_SYSINFO);
    ft_board_runtime_uid(m->rt, uid);
    qdev_prop_set_uint32(DEVICE(&m->sysinfo), "idcode",
                         (uint32_t)ft_board_runtime_rev_id(m->rt) << 16 |
                             part->dev_id);
    qdev_prop_set_uint32(DEVICE(&m->sysinfo), "uid0", uid[0]);
    qdev_prop_set_uint32(DEVICE(&m->sysinfo), "uid1", uid[1]);
    qdev_prop_set_uint32(DEVICE(&m->sysinfo), "uid2", uid[2]);
    qdev_prop_set_uint32(DEVICE(&m->sysinfo), "flash-kb", part->flash_size_kb);
    realize_mmio(m, info, SYS_BUS_DEVICE(&m->sysinfo), part->idcode_addr);
    /* UID and flash size sit inside system memory (H74x, H72x), next to the
     * OTP area (H7Ax) or in BSEC (N6): above whatever is mapped there */
    memory_region_add_subregion_overlap(
        get_system_memory(), part->uid_reg,
        sysbus_mmio_get_region(SYS_BUS_DEVICE(&m->sysinfo), 1), 10);
    if (part->flash_size_reg) {
        memory_region_add_subregion_overlap(
            get_system_memory(), part->flash_size_reg,
            sysbus_mmio_get_region(SYS_BUS_DEVICE(&m->sysinfo), 2), 10);
    }

    /* embedded flash */
    if (info->flash_irq >= 0) {
        object_initialize_child(OBJECT(m), "flash", &m->flash,
                                TYPE_FT_H7_FLASH);
        m->flash.fl = ft_board_runtime_flash(m->rt);
        m->flash.part = part;
        m->flash.time = &m->time;
        m->flash.array = store_region(
            m, "flash", ft_flash_h7_array_size(&part->flash), 0xFF);
        m->flash.ecc = store_region(
            m, "flash-ecc", ft_flash_h7_ecc_state_size(&part->flash), 0);
        m->flash.drop_word = m->fault_drop_word;
        m->flash.cut_word = m->fault_cut_word;
        m->flash.watchdog_ns = (uint64_t)m->fault_watchdog_ms * 1000000u;
        realize_mmio(m, info, SYS_BUS_DEVICE(&m->flash), part->flash_regs);
        sysbus_mmio_map(SYS_BUS_DEVICE(&m->flash), 1, 0x08000000u);
        sysbus_connect_irq(SYS_BUS_DEVICE(&m->flash), 0,
                           qdev_get_gpio_in(armv7m, info->flash_irq));
    }

    /* external-memory controllers and their NOR flash */
    for (unsigned i = 0; i < FT_MAX_SPI && info->spi[i].name; i++) {
        create_spi(m, info, i);
    }
}

/* ---- boot -----------------------------------------------------------------
 */

/* The N6 boot ROM in flash boot: the FSBL's start address, or 0 when the
 * header is refused (the reason is logged). */
static uint32_t n6_load_fsbl(FtNucleoMachineState *m)
{
    const ft_board_runtime_nor *nor = NULL;
    for (size_t i = 0; i < ft_board_runtime_nor_count(m->rt); i++) {
        const ft_board_runtime_nor *n = ft_board_runtime_nor_at(m->rt, i);
        if (n->window_base == 0x70000000u) { /* XSPI2 */
            nor = n;
        }
    }
    if (!nor) {
        qemu_log("flashtwin: N6 boot ROM: no NOR flash on XSPI2\n");
        return 0;
    }
    const uint8_t *p = ft_nor_array(nor->nor);
    uint32_t len = ldl_le_p(p + N6_HDR_LENGTH);
    uint32_t entry = ldl_le_p(p + N6_HDR_ENTRY);
    if (ldl_le_p(p) != N6_MAGIC) {
        qemu_log("flashtwin: N6 boot ROM: no STM32 header (magic 0x%08x) "
                 "at XSPI2 offset 0\n",
                 ldl_le_p(p));
        return 0;
    }
    if (p[N6_HDR_VERSION + 2] != 2) {
        qemu_log("flashtwin: N6 boot ROM: header version %u.%u, expected "
                 "2.x\n",
                 p[N6_HDR_VERSION + 2], p[N6_HDR_VERSION + 1]);
        return 0;
    }
    if (len == 0 || len > N6_MAX_IMAGE - N6_HEADER_SIZE) {
        qemu_log("flashtwin: N6 boot ROM: image length 0x%x out of range\n",
                 len);
        return 0;
    }
    uint32_t sum = 0;
    for (uint32_t i = 0; i < len; i++) {
        sum += p[N6_HEADER_SIZE + i];
    }
    if (sum != ldl_le_p(p + N6_HDR_CHECKSUM)) {
        qemu_log("flashtwin: N6 boot ROM: image checksum 0x%08x, header "
                 "says 0x%08x\n",
                 sum, ldl_le_p(p + N6_HDR_CHECKSUM));
        return 0;
    }
    address_space_write(&address_space_memory, N6_FSBL_LOAD,
                        MEMTXATTRS_UNSPECIFIED, p, N6_HEADER_SIZE + len);
    return entry;
}

static void ft_nucleo_reset(MachineState *ms, ShutdownCause reason)
{
    FtNucleoMachineState *m = FT_NUCLEO_MACHINE(ms);
    const FtNucleoInfo *info = FT_NUCLEO_MACHINE_GET_CLASS(ms)->info;
    const ft_part *part = ft_board_runtime_part(m->rt);
    ARMCPU *cpu = ARM_CPU(first_cpu);

    qemu_devices_reset(reason);
    if (info->flash_irq >= 0) {
        ft_flash_h7 *fl = ft_board_runtime_flash(m->rt);
        uint32_t vtor = ft_flash_h7_boot_address(fl, m->boot0_level, false);
        const ft_region *from = ft_part_region_at(part, vtor);
        /* booting from RAM or system memory counts as an intrusion for RDP
         * level 1 (flash_h7.h) */
        ft_flash_h7_set_intrusion(fl,
                                  !from || from->kind != FT_REGION_FLASH_BANK);
        cpu->init_nsvtor = vtor;
        cpu_reset(CPU(cpu));
        return;
    }
    /* N6: the boot ROM */
    const ft_region *rom = ft_part_region_at(part, 0x18000000u);
    uint32_t entry = 0;
    if (m->boot1 == ON_OFF_AUTO_ON) {
        qemu_log("flashtwin: N6 development boot: waiting for a debugger\n");
    } else if (m->boot0_level) {
        qemu_log("flashtwin: N6 serial boot is not modelled: waiting\n");
    } else {
        entry = n6_load_fsbl(m);
    }
    cpu->init_svtor = entry ? N6_FSBL_LOAD + N6_HEADER_SIZE : rom->start;
    cpu_reset(CPU(cpu));
    if (entry) {
        cpu->env.regs[15] = entry & ~1u;
        cpu->env.thumb = true;
    }
}

/* ---- fault-core-sleeps: the debug halt control register --------------------
 */

/* DHCSR (ARMv7-M ARM DDI 0403E C1.6.2): C_DEBUGEN b0, S_HALT b17, S_SLEEP
 * b18. A core in Stop or Sleep with DBGMCU_CR's DBGSLEEP/DBGSTOP clear
 * (DBGMCU_CR at DBGMCU + 4, CMSIS stm32h743xx.h DBGMCU_CR_DBG_SLEEPD1; the
 * register reads 0 here) keeps its debug logic unclocked: halt requests do
 * not take [U: on silicon the AP access itself may fail]. */
#define DHCSR_ADDR 0xE000EDF0u
#define DHCSR_C_DEBUGEN (1u << 0)
#define DHCSR_S_SLEEP (1u << 18)

static uint64_t dhcsr_read(void *opaque, hwaddr offset, unsigned size)
{
    return DHCSR_C_DEBUGEN | DHCSR_S_SLEEP;
}

static void dhcsr_write(void *opaque, hwaddr offset, uint64_t value,
                        unsigned size)
{
    /* C_HALT and C_DEBUGEN writes are lost with the core's debug clock */
}

static const MemoryRegionOps dhcsr_ops = {
    .read = dhcsr_read,
    .write = dhcsr_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid.min_access_size = 1,
    .valid.max_access_size = 4,
};

/* ---- machine --------------------------------------------------------------
 */

static void ft_nucleo_init(MachineState *ms)
{
    FtNucleoMachineState *m = FT_NUCLEO_MACHINE(ms);
    const FtNucleoInfo *info = FT_NUCLEO_MACHINE_GET_CLASS(ms)->info;
    DeviceState *armv7m;

    open_board(m, info);
    const ft_part *part = ft_board_runtime_part(m->rt);

    m->sysclk = clock_new(OBJECT(m), "SYSCLK");
    clock_set_hz(m->sysclk, info->sysclk_hz);
    m->refclk = clock_new(OBJECT(m), "REFCLK");
    clock_set_mul_div(m->refclk, 8, 1); /* SysTick external clock: HCLK/8 */
    clock_set_source(m->refclk, m->sysclk);

    build_memory_map(m, part);

    object_initialize_child(OBJECT(m), "armv7m", &m->armv7m, TYPE_ARMV7M);
    armv7m = DEVICE(&m->armv7m);
    qdev_prop_set_uint32(armv7m, "num-irq", info->num_irq);
    qdev_prop_set_string(armv7m, "cpu-type", info->cpu_type);
    qdev_connect_clock_in(armv7m, "cpuclk", m->sysclk);
    qdev_connect_clock_in(armv7m, "refclk", m->refclk);
    object_property_set_link(OBJECT(&m->armv7m), "memory",
                             OBJECT(get_system_memory()), &error_abort);
    sysbus_realize(SYS_BUS_DEVICE(&m->armv7m), &error_fatal);
    if (m->fault_core_sleeps) {
        memory_region_init_io(&m->dhcsr, OBJECT(m), &dhcsr_ops, m,
                              "ft-dhcsr-sleeping", 4);
        memory_region_add_subregion_overlap(&m->armv7m.container, DHCSR_ADDR,
                                            &m->dhcsr, 10);
    }

    create_devices(m, info);

    armv7m_load_kernel(ARM_CPU(first_cpu), ms->kernel_filename, 0, 0);
}

static void set_str(char **field, const char *value)
{
    g_free(*field);
    *field = g_strdup(value);
}

#define STR_PROP(field)                                                        \
    static char *get_##field(Object *obj, Error **errp)                        \
    {                                                                          \
        return g_strdup(FT_NUCLEO_MACHINE(obj)->field);                        \
    }                                                                          \
    static void set_##field(Object *obj, const char *value, Error **errp)      \
    {                                                                          \
        set_str(&FT_NUCLEO_MACHINE(obj)->field, value);                        \
    }
STR_PROP(board_path)
STR_PROP(state_dir)
STR_PROP(timing)

#define PIN_PROP(field)                                                        \
    static void get_##field(Object *obj, Visitor *v, const char *name,         \
                            void *opaque, Error **errp)                        \
    {                                                                          \
        OnOffAuto value = FT_NUCLEO_MACHINE(obj)->field;                       \
        visit_type_OnOffAuto(v, name, &value, errp);                           \
    }                                                                          \
    static void set_##field(Object *obj, Visitor *v, const char *name,         \
                            void *opaque, Error **errp)                        \
    {                                                                          \
        visit_type_OnOffAuto(v, name, &FT_NUCLEO_MACHINE(obj)->field, errp);   \
    }
PIN_PROP(boot0)
PIN_PROP(boot1)

static bool get_core_sleeps(Object *obj, Error **errp)
{
    return FT_NUCLEO_MACHINE(obj)->fault_core_sleeps;
}

static void set_core_sleeps(Object *obj, bool value, Error **errp)
{
    FT_NUCLEO_MACHINE(obj)->fault_core_sleeps = value;
}

static void ft_nucleo_instance_init(Object *obj)
{
    FtNucleoMachineState *m = FT_NUCLEO_MACHINE(obj);
    m->boot0 = ON_OFF_AUTO_AUTO;
    m->boot1 = ON_OFF_AUTO_AUTO;
    object_property_add_uint32_ptr(obj, "fault-drop-word", &m->fault_drop_word,
                                   OBJ_PROP_FLAG_READWRITE);
    object_property_add_uint32_ptr(obj, "fault-cut-word", &m->fault_cut_word,
                                   OBJ_PROP_FLAG_READWRITE);
    object_property_add_uint32_ptr(obj, "fault-watchdog-ms",
                                   &m->fault_watchdog_ms,
                                   OBJ_PROP_FLAG_READWRITE);
    object_property_add_bool(obj, "fault-core-sleeps", get_core_sleeps,
                             set_core_sleeps);
}

static void ft_nucleo_class_init(ObjectClass *oc, void *data)
{
    MachineClass *mc = MACHINE_CLASS(oc);
    FtNucleoMachineClass *fc = FT_NUCLEO_MACHINE_CLASS(oc);
    const FtNucleoInfo *info = data;

    fc->info = info;
    mc->desc = info->desc;
    mc->init = ft_nucleo_init;
    mc->reset = ft_nucleo_reset;
    mc->max_cpus = 1;
    mc->default_cpu_type = info->cpu_type;

    object_class_property_add_str(oc, "board", get_board_path, set_board_path);
    object_class_property_set_description(oc, "board", "flashtwin board file");
    object_class_property_add_str(oc, "state", get_state_dir, set_state_dir);
    object_class_property_set_description(
        oc, "state", "board state directory (flash, option bytes, NOR)");
    object_class_property_add_str(oc, "timing", get_timing, set_timing);
    object_class_property_set_description(
        oc, "timing", "real (datasheet times on the virtual clock) or instant");
    object_class_property_add(oc, "boot0", "OnOffAuto", get_boot0, set_boot0,
                              NULL, NULL);
    object_class_property_set_description(oc, "boot0", "BOOT0 pin level");
    object_class_property_add(oc, "boot1", "OnOffAuto", get_boot1, set_boot1,
                              NULL, NULL);
    object_class_property_set_description(
        oc, "boot1", "STM32N6 BOOT1 pin: on = development boot");
}

/* OCTOSPI1/2 of H72x and H7Ax: CMSIS stm32h723xx.h, stm32h7a3xxq.h
 * OCTOSPIn_R_BASE, OCTOSPIn_BASE, OCTOSPIn_IRQn. */
#define OCTOSPI1                                                               \
    {                                                                          \
        "OCTOSPI1", {FT_BOARD_BUS_OCTOSPI1}, 0x52005000, 0x90000000, 92        \
    }
#define OCTOSPI2                                                               \
    {                                                                          \
        "OCTOSPI2", {FT_BOARD_BUS_OCTOSPI2}, 0x5200A000, 0x70000000, 150       \
    }

/* STM32H7 addresses: CMSIS stm32h743xx.h / stm32h723xx.h / stm32h7a3xx.h
 * RCC_BASE 0x58024400, PWR_BASE 0x58024800, USART3_BASE 0x40004800;
 * FLASH_IRQn 4, USART3_IRQn 39; QSPI_R_BASE, QSPI_BASE, QUADSPI_IRQn 92. NVIC
 * sizes: the last IRQn + 1 (H743 150, H723 163, H7A3 155 [U]), rounded up.
 * Nucleo-144 VCP: USART3 on PD8/PD9 (UM2407). */
static const FtNucleoInfo ft_nucleo_infos[] = {
    {
        .name = "nucleo-h743zi2",
        .desc = "ST NUCLEO-H743ZI2 (STM32H743ZI, Cortex-M7), flashtwin models",
        .family = FT_FAMILY_H74X,
        .default_board = "part = STM32H743ZIT6\nrevision = V\n",
        .cpu_type = ARM_CPU_TYPE_NAME("cortex-m7"),
        .num_irq = 160,
        .sysclk_hz = 400000000,
        .rcc = FT_RCC_H74X,
        .rcc_base = 0x58024400,
        .pwr_base = 0x58024800,
        .usart_base = 0x40004800,
        .usart_irq = 39,
        .flash_irq = 4,
        .spi_variant = FT_XSPI_QUADSPI,
        .spi = {{"QUADSPI",
                 {FT_BOARD_BUS_QUADSPI1, FT_BOARD_BUS_QUADSPI2},
                 0x52005000,
                 0x90000000,
                 92}},
    },
    {
        .name = "nucleo-h723zg",
        .desc = "ST NUCLEO-H723ZG (STM32H723ZG, Cortex-M7), flashtwin models",
        .family = FT_FAMILY_H72X,
        .default_board = "part = STM32H723ZGT6\nrevision = Z\n",
        .cpu_type = ARM_CPU_TYPE_NAME("cortex-m7"),
        .num_irq = 170,
        .sysclk_hz = 550000000,
        .rcc = FT_RCC_H72X,
        .rcc_base = 0x58024400,
        .pwr_base = 0x58024800,
        .usart_base = 0x40004800,
        .usart_irq = 39,
        .flash_irq = 4,
        .spi_variant = FT_XSPI_OCTOSPI,
        .spi = {OCTOSPI1, OCTOSPI2},
    },
    {
        .name = "nucleo-h7a3zi-q",
        .desc = "ST NUCLEO-H7A3ZI-Q (STM32H7A3ZI, Cortex-M7), flashtwin models",
        .family = FT_FAMILY_H7AX,
        .default_board = "part = STM32H7A3ZIT6Q\nrevision = A\n",
        .cpu_type = ARM_CPU_TYPE_NAME("cortex-m7"),
        .num_irq = 160,
        .sysclk_hz = 280000000,
        .rcc = FT_RCC_H7AX,
        .rcc_base = 0x58024400,
        .pwr_base = 0x58024800,
        .usart_base = 0x40004800,
        .usart_irq = 39,
        .flash_irq = 4,
        .spi_variant = FT_XSPI_OCTOSPI,
        .spi = {OCTOSPI1, OCTOSPI2},
    },
    {
        .name = "nucleo-n657x0-q",
        .desc = "ST NUCLEO-N657X0-Q (STM32N657X0, Cortex-M55), flashtwin "
                "models",
        .family = FT_FAMILY_N6,
        .default_board = "part = STM32N657X0H3Q\n"
                         "external_flash_part = MX25UM51245G\n"
                         "external_flash_bus = xspi2\n",
        .cpu_type = ARM_CPU_TYPE_NAME("cortex-m55"),
        .num_irq = 200,
        .sysclk_hz = 800000000,
        .rcc = FT_RCC_N6,
        /* CMSIS stm32n657xx.h RCC_BASE_NS, PWR_BASE_NS, USART1_BASE_NS,
         * USART1_IRQn 159, XSPIn_BASE_NS, XSPIn_IRQn 170-172; peripheral
         * secure aliases at +0x10000000 (PERIPH_BASE_S). NUCLEO-N657X0-Q VCP:
         * USART1 (UM3417 [U]) */
        .rcc_base = 0x46028000,
        .pwr_base = 0x46024800,
        .usart_base = 0x42001000,
        .usart_irq = 159,
        .flash_irq = -1,
        .spi_variant = FT_XSPI_XSPI,
        .spi = {{"XSPI1", {FT_BOARD_BUS_XSPI1}, 0x48025000, 0x90000000, 170},
                {"XSPI2", {FT_BOARD_BUS_XSPI2}, 0x4802A000, 0x70000000, 171},
                {"XSPI3", {FT_BOARD_BUS_XSPI3}, 0x4802D000, 0x80000000, 172}},
        .secure_alias = 0x10000000,
    },
};

static const TypeInfo ft_nucleo_base_info = {
    .name = TYPE_FT_NUCLEO_MACHINE,
    .parent = TYPE_MACHINE,
    .abstract = true,
    .instance_size = sizeof(FtNucleoMachineState),
    .instance_init = ft_nucleo_instance_init,
    .class_size = sizeof(FtNucleoMachineClass),
};

static void ft_nucleo_register_types(void)
{
    type_register_static(&ft_nucleo_base_info);
    for (size_t i = 0; i < ARRAY_SIZE(ft_nucleo_infos); i++) {
        TypeInfo ti = {
            .name = g_strdup_printf(MACHINE_TYPE_NAME("%s"),
                                    ft_nucleo_infos[i].name),
            .parent = TYPE_FT_NUCLEO_MACHINE,
            .class_init = ft_nucleo_class_init,
            .class_data = (void *)&ft_nucleo_infos[i],
        };
        type_register(&ti);
    }
}

type_init(ft_nucleo_register_types)
