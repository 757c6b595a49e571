/* flashtwin Nucleo machines: the QEMU devices that wrap the flashtwin models,
 * and what the machine (ft_nucleo.c) hands them. The models are pure C
 * (ft/models, ft/emu); these wrappers translate QEMU bus accesses, virtual time
 * and resets into model calls.
 *
 * Time: a board's models read an ft_clock in manual mode (or instant mode with
 * timing=instant). Every wrapper calls ft_time_sync before it touches a model,
 * which moves the ft_clock to QEMU_CLOCK_VIRTUAL. A model access that the bus
 * would stall on silicon (FT_ERR_BUSY) is retried after moving the ft_clock to
 * the model's next event: the stall costs no guest time, and the models' clock
 * runs ahead of QEMU's by the stalled time until QEMU's catches up.
 *
 * Ownership: the machine owns the board runtime (models, clock, store); the
 * devices keep borrowed pointers, set before realize, valid for the life of the
 * machine.
 */
#ifndef HW_ARM_FLASHTWIN_FT_DEVICES_H
#define HW_ARM_FLASHTWIN_FT_DEVICES_H

#include "chardev/char-fe.h"
#include "exec/memory.h"
#include "hw/sysbus.h"
#include "qemu/timer.h"
#include "qom/object.h"

#include "models/clock.h"
#include "models/flash_h7.h"
#include "models/nor_flash.h"
#include "models/parts.h"
#include "models/xspi.h"

/* ---- virtual time
 * ---------------------------------------------------------------------------
 */

typedef struct FtTime {
    ft_clock *clock;   /* the board's clock (borrowed) */
    int64_t origin_ns; /* QEMU_CLOCK_VIRTUAL at ft time 0, less the halted time */
    /* While the machine is stopped (a debugger halted it) the virtual clock
     * stands still but the flash controller of a halted core goes on: the
     * models follow QEMU_CLOCK_REALTIME from the first access after the stop. */
    bool paused;
    int64_t paused_host_ns; /* QEMU_CLOCK_REALTIME at that access */
    uint64_t paused_ft_ns;  /* the ft_clock then */
} FtTime;

/* Moves the ft_clock forward to QEMU's virtual time (never backwards); while
 * the machine is stopped, by the host time passed since the first access of the
 * stop. */
void ft_time_sync(FtTime *t);
/* Moves the ft_clock forward to deadline_ns (ft time) when it is behind it: a
 * bus stall. */
void ft_time_stall_until(FtTime *t, uint64_t deadline_ns);
/* The QEMU_CLOCK_VIRTUAL time of an ft deadline, for timer_mod. */
int64_t ft_time_to_qemu(const FtTime *t, uint64_t deadline_ns);

/* ---- embedded flash (H7)
 * ------------------------------------------------------------------- */

#define TYPE_FT_H7_FLASH "ft-h7-flash"
OBJECT_DECLARE_SIMPLE_TYPE(FtH7FlashState, FT_H7_FLASH)

/* Contiguous runs of flash words with an ECC error, served through the model
 * (so reads raise SNECCERR/DBECCERR and bus faults) instead of directly from
 * RAM. Beyond this many runs in a bank, the whole bank is served through the
 * model. */
#define FT_FLASH_MAX_TRAPS 32

typedef struct FtFlashWindow {
    FtH7FlashState *s;
    MemoryRegion mr;
    uint32_t base; /* absolute address the window starts at, as mapped now */
} FtFlashWindow;

struct FtH7FlashState {
    SysBusDevice parent_obj;

    /* set by the machine before realize */
    ft_flash_h7 *fl;
    const ft_part *part;
    FtTime *time;
    uint8_t *array; /* the model's array (store mapping): physical bank 1 then
                       bank 2 */
    uint8_t
        *ecc; /* one ft_flash_h7_word_state byte per flash word, same order */

    MemoryRegion regs;      /* FLASH registers (sysbus MMIO 0) */
    MemoryRegion container; /* banks, OTP and ECC traps at their addresses
                               (sysbus MMIO 1) */
    FtFlashWindow bank[2];  /* ROM devices over the physical banks */
    FtFlashWindow otp;      /* H7Ax user OTP, through the model */
    FtFlashWindow trap[2][FT_FLASH_MAX_TRAPS];
    unsigned trap_count[2];
    uint32_t
        trap_start[2][FT_FLASH_MAX_TRAPS]; /* physical word index of each run */
    uint32_t trap_words[2][FT_FLASH_MAX_TRAPS];
    bool
        bank_mmio[2]; /* too many runs: the whole bank goes through the model */
    bool swapped;     /* physical bank 2 mapped at 0x08000000 */
    /* physical offsets per bank that may have changed since the last flush; lo
     * >= hi: none */
    uint32_t dirty_lo[2], dirty_hi[2];

    qemu_irq irq;
    QEMUTimer timer;
    uint64_t timer_deadline; /* ft time the timer stands for */

    /* Test faults (machine properties fault-*, set before realize; 0: off).
     * drop_word: every store into the flash word holding this address is
     * dropped, so the word stays erased. cut_word: the program of the word
     * holding this address is interrupted: its stores are dropped and, at its
     * last byte, the word is left with a double ECC error. watchdog_ns: a
     * system reset (an IWDG not frozen by DBGMCU) once the modelled flash time
     * reaches it. */
    uint32_t drop_word;
    uint32_t cut_word;
    uint64_t watchdog_ns;
    uint64_t worked_ns; /* modelled time of the erases and word programs so
                           far (ft_flash_h7_duration_ns): the core is halted
                           under a debugger, so QEMU's clock stands still */
    bool watchdog_fired;
};

/* ---- RCC + PWR
 * ------------------------------------------------------------------------------
 */

#define TYPE_FT_RCC "ft-rcc"
OBJECT_DECLARE_SIMPLE_TYPE(FtRccState, FT_RCC)

typedef enum FtRccVariant {
    FT_RCC_H74X,
    FT_RCC_H72X,
    FT_RCC_H7AX,
    FT_RCC_N6,
} FtRccVariant;

#define FT_RCC_REGS (0x1000 / 4)
#define FT_PWR_REGS (0x400 / 4)

struct FtRccState {
    SysBusDevice parent_obj;
    uint32_t variant;    /* FtRccVariant (property) */
    MemoryRegion rcc_io; /* sysbus MMIO 0 */
    MemoryRegion pwr_io; /* sysbus MMIO 1 */
    uint32_t rcc[FT_RCC_REGS];
    uint32_t pwr[FT_PWR_REGS];
};

/* ---- USART (STM32H7/N6 layout: ISR/ICR/RDR/TDR)
 * -------------------------------------------- */

#define TYPE_FT_USART "ft-usart"
OBJECT_DECLARE_SIMPLE_TYPE(FtUsartState, FT_USART)

struct FtUsartState {
    SysBusDevice parent_obj;
    MemoryRegion io;
    CharBackend chr;
    qemu_irq irq;
    uint32_t cr1, cr2, cr3, brr, gtpr, rtor, isr, rdr, presc;
};

/* ---- QUADSPI / OCTOSPI / XSPI
 * -------------------------------------------------------------- */

#define TYPE_FT_XSPI "ft-xspi"
OBJECT_DECLARE_SIMPLE_TYPE(FtXspiState, FT_XSPI)

struct FtXspiState {
    SysBusDevice parent_obj;

    /* set by the machine before realize */
    uint32_t variant;     /* ft_xspi_variant (property) */
    uint32_t window_size; /* bytes of the memory-mapped window (property) */
    ft_nor *nor;          /* the flash on the bus, or NULL */
    uint8_t *array;       /* its array (store mapping), or NULL */
    FtTime *time;

    ft_xspi *x;          /* owned */
    MemoryRegion regs;   /* sysbus MMIO 0 */
    MemoryRegion window; /* sysbus MMIO 1: the memory-mapped window */
    MemoryRegion
        array_mr; /* ROM device over the NOR array, at window offset 0 */
    bool mapped;  /* array_mr in ROMD mode */
    uint32_t
        generation; /* ft_xspi_mapped generation array_mr was flushed for */
    qemu_irq irq;
};

/* A ROM device whose RAM is host memory the caller owns (a board store
 * mapping): reads and instruction fetches hit it directly, writes trap into
 * ops. */
void ft_init_rom_device_ptr(MemoryRegion *mr, Object *owner,
                            const MemoryRegionOps *ops, void *opaque,
                            const char *name, uint64_t size, void *host);

/* ---- identification: DBGMCU, unique ID, flash size
 * ----------------------------------------- */

#define TYPE_FT_SYSINFO "ft-sysinfo"
OBJECT_DECLARE_SIMPLE_TYPE(FtSysinfoState, FT_SYSINFO)

struct FtSysinfoState {
    SysBusDevice parent_obj;
    uint32_t idcode;      /* DBGMCU_IDCODE: REV_ID << 16 | DEV_ID (property) */
    uint32_t uid[3];      /* properties uid0..2 */
    uint32_t flash_kb;    /* flash-size register value (property) */
    MemoryRegion dbgmcu;  /* sysbus MMIO 0: IDCODE, CR and friends */
    MemoryRegion uid_io;  /* sysbus MMIO 1: 12 bytes */
    MemoryRegion size_io; /* sysbus MMIO 2: 4 bytes */
    uint32_t dbgmcu_regs[0x40 / 4];
};

#endif
