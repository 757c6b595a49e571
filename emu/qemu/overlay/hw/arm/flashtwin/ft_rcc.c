/*
 * RCC and PWR, modelled as far as clock and supply start-up code written
 * against ST's HAL needs: every register stores what is written, and the
 * status bits that HAL polls follow their control bits at once (an oscillator
 * or PLL is ready as soon as it is switched on, the clock switch status
 * follows the switch, voltage scaling is ready as soon as it is requested).
 * Clock frequencies are not derived from the configuration.
 *
 * STM32H7 (RM0433 §8-9, RM0468, RM0455): RCC at 0x58024400, PWR at
 * 0x58024800. STM32N6 (RM0486): RCC at 0x46028000, PWR at 0x46024800, with
 * set (+0x800) and clear (+0x1000) aliases of the RCC control registers.
 * Bit positions: CMSIS stm32h743xx.h, stm32h7a3xx.h, stm32n657xx.h.
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "hw/qdev-properties.h"
#include "hw/arm/flashtwin/ft_devices.h"

/* ---- STM32H7 --------------------------------------------------------------
 */

#define H7_RCC_CR 0x000
#define H7_RCC_CFGR 0x010
#define H7_RCC_PLLCKSELR 0x028
#define H7_RCC_PLLCFGR 0x02C
#define H7_RCC_PLL1DIVR 0x030
#define H7_RCC_PLL2DIVR 0x038
#define H7_RCC_PLL3DIVR 0x040
#define H7_RCC_BDCR 0x070
#define H7_RCC_CSR 0x074
/* RCC_CR: each oscillator's ready bit sits one (HSI: two) above its ON bit */
#define H7_CR_HSION (1u << 0)
#define H7_CR_HSIRDY (1u << 2)
#define H7_CR_HSIDIVF (1u << 5) /* HSI divider applied */
#define H7_CR_CSION (1u << 7)
#define H7_CR_CSIRDY (1u << 8)
#define H7_CR_HSI48ON (1u << 12)
#define H7_CR_HSI48RDY (1u << 13)
#define H7_CR_D1CKRDY (1u << 14) /* CPUCKRDY on H7Ax */
#define H7_CR_D2CKRDY (1u << 15) /* CDCKRDY on H7Ax */
#define H7_CR_HSEON (1u << 16)
#define H7_CR_HSERDY (1u << 17)
#define H7_CR_PLL1ON (1u << 24)
#define H7_CR_PLL1RDY (1u << 25)
#define H7_CR_PLL2ON (1u << 26)
#define H7_CR_PLL2RDY (1u << 27)
#define H7_CR_PLL3ON (1u << 28)
#define H7_CR_PLL3RDY (1u << 29)
#define H7_CR_RDY_MASK                                                         \
    (H7_CR_HSIRDY | H7_CR_CSIRDY | H7_CR_HSI48RDY | H7_CR_HSERDY |             \
     H7_CR_PLL1RDY | H7_CR_PLL2RDY | H7_CR_PLL3RDY | H7_CR_D1CKRDY |           \
     H7_CR_D2CKRDY | H7_CR_HSIDIVF)
#define H7_CFGR_SW_MASK 0x7u /* SW b2:0; SWS b5:3 */
#define H7_ON_RDY (1u << 0)  /* BDCR.LSEON / CSR.LSION; RDY is bit 1 */

#define H7_PWR_CSR1 0x04
#define H7_PWR_CR3 0x0C
#define H7_PWR_D3CR 0x18 /* SRDCR on H7Ax */
#define H7_CSR1_ACTVOSRDY (1u << 13)
#define H7_CSR1_ACTVOS_SHIFT 14
#define H7_CR3_SUPPLY_MASK                                                     \
    0x3Fu                       /* BYPASS LDOEN SCUEN/SMPSEN SMPSEXTHP LEVEL   \
                                 */
#define H7_CR3_SCUEN (1u << 2)  /* H74x/H72x: supply update still allowed */
#define H7_CR3_SMPSEN (1u << 2) /* H7Ax */
#define H7_CR3_LDOEN (1u << 1)
#define H7_CR3_SMPSEXTRDY (1u << 16)
#define H7_CR3_USB33DEN (1u << 24)
#define H7_CR3_USB33RDY (1u << 26)
#define H7_D3CR_VOSRDY (1u << 13)
#define H7_D3CR_VOS_SHIFT 14

/* ---- STM32N6 --------------------------------------------------------------
 */

#define N6_RCC_CR 0x000
#define N6_RCC_SR 0x004
#define N6_RCC_CFGR1 0x020
#define N6_RCC_SET 0x800
#define N6_RCC_CLR 0x1000
/* RCC_CR/SR: LSION b0, LSEON b1, MSION b2, HSION b3, HSEON b4, PLL1..4ON
 * b8..11; SR has the matching RDY bits at the same positions. CFGR1: CPUSW
 * b17:16, CPUSWS b21:20, SYSSW b25:24, SYSSWS b29:28. */
#define N6_CR_READY_MASK 0x00000F1Fu
#define N6_CFGR1_CPUSW_SHIFT 16
#define N6_CFGR1_CPUSWS_SHIFT 20
#define N6_CFGR1_SYSSW_SHIFT 24
#define N6_CFGR1_SYSSWS_SHIFT 28
#define N6_PWR_VOSCR 0x20         /* CMSIS PWR_TypeDef VOSCR */
#define N6_VOSCR_VOSRDY (1u << 1) /* VOS b0, VOSRDY b1, ACTVOSRDY b17 */
#define N6_VOSCR_ACTVOSRDY (1u << 17)

static bool is_n6(FtRccState *s)
{
    return s->variant == FT_RCC_N6;
}

/* ---- RCC ------------------------------------------------------------------
 */

static uint64_t rcc_read(void *opaque, hwaddr offset, unsigned size)
{
    FtRccState *s = opaque;
    uint32_t cr = s->rcc[0];

    if (is_n6(s)) {
        if (offset >= N6_RCC_SET) {
            offset &= N6_RCC_SET - 1; /* the aliases read the register */
        }
        if (offset == N6_RCC_SR) {
            return cr & N6_CR_READY_MASK;
        }
        if (offset == N6_RCC_CFGR1) {
            uint32_t v = s->rcc[offset / 4];
            v &= ~((3u << N6_CFGR1_CPUSWS_SHIFT) |
                   (3u << N6_CFGR1_SYSSWS_SHIFT));
            v |= ((v >> N6_CFGR1_CPUSW_SHIFT) & 3u) << N6_CFGR1_CPUSWS_SHIFT;
            v |= ((v >> N6_CFGR1_SYSSW_SHIFT) & 3u) << N6_CFGR1_SYSSWS_SHIFT;
            return v;
        }
        return s->rcc[offset / 4];
    }
    switch (offset) {
    case H7_RCC_CR: {
        uint32_t rdy = H7_CR_D1CKRDY | H7_CR_D2CKRDY | H7_CR_HSIDIVF;
        rdy |= (cr & H7_CR_HSION) ? H7_CR_HSIRDY : 0;
        rdy |= (cr & H7_CR_CSION) ? H7_CR_CSIRDY : 0;
        rdy |= (cr & H7_CR_HSI48ON) ? H7_CR_HSI48RDY : 0;
        rdy |= (cr & H7_CR_HSEON) ? H7_CR_HSERDY : 0;
        rdy |= (cr & H7_CR_PLL1ON) ? H7_CR_PLL1RDY : 0;
        rdy |= (cr & H7_CR_PLL2ON) ? H7_CR_PLL2RDY : 0;
        rdy |= (cr & H7_CR_PLL3ON) ? H7_CR_PLL3RDY : 0;
        return (cr & ~H7_CR_RDY_MASK) | rdy;
    }
    case H7_RCC_CFGR: {
        uint32_t v = s->rcc[offset / 4] & ~(H7_CFGR_SW_MASK << 3);
        return v | ((v & H7_CFGR_SW_MASK) << 3);
    }
    case H7_RCC_BDCR:
    case H7_RCC_CSR: {
        uint32_t v = s->rcc[offset / 4] & ~(H7_ON_RDY << 1);
        return v | ((v & H7_ON_RDY) << 1);
    }
    default: return s->rcc[offset / 4];
    }
}

static void rcc_write(void *opaque, hwaddr offset, uint64_t value,
                      unsigned size)
{
    FtRccState *s = opaque;

    if (is_n6(s) && offset >= N6_RCC_SET) {
        hwaddr reg = offset & (N6_RCC_SET - 1);
        if (offset >= N6_RCC_CLR) {
            s->rcc[reg / 4] &= ~(uint32_t)value;
        } else {
            s->rcc[reg / 4] |= (uint32_t)value;
        }
        return;
    }
    if (is_n6(s) && offset == N6_RCC_SR) {
        qemu_log_mask(LOG_GUEST_ERROR, "ft-rcc: write to read-only RCC_SR\n");
        return;
    }
    s->rcc[offset / 4] = value;
}

static const MemoryRegionOps rcc_ops = {
    .read = rcc_read,
    .write = rcc_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid.min_access_size = 4,
    .valid.max_access_size = 4,
};

/* ---- PWR ------------------------------------------------------------------
 */

static uint64_t pwr_read(void *opaque, hwaddr offset, unsigned size)
{
    FtRccState *s = opaque;
    uint32_t v = s->pwr[offset / 4];

    if (is_n6(s)) {
        if (offset == N6_PWR_VOSCR) {
            v |= N6_VOSCR_VOSRDY | N6_VOSCR_ACTVOSRDY;
        }
        return v;
    }
    switch (offset) {
    case H7_PWR_CSR1: {
        uint32_t vos = (s->pwr[H7_PWR_D3CR / 4] >> H7_D3CR_VOS_SHIFT) & 3u;
        v &= ~(3u << H7_CSR1_ACTVOS_SHIFT);
        return v | H7_CSR1_ACTVOSRDY | (vos << H7_CSR1_ACTVOS_SHIFT);
    }
    case H7_PWR_CR3:
        if (s->variant == FT_RCC_H7AX && (v & H7_CR3_SMPSEN)) {
            v |= H7_CR3_SMPSEXTRDY;
        }
        return v | ((v & H7_CR3_USB33DEN) ? H7_CR3_USB33RDY : 0);
    case H7_PWR_D3CR: return v | H7_D3CR_VOSRDY;
    default: return v;
    }
}

static void pwr_write(void *opaque, hwaddr offset, uint64_t value,
                      unsigned size)
{
    FtRccState *s = opaque;
    uint32_t *r = &s->pwr[offset / 4];

    if (!is_n6(s) && offset == H7_PWR_CR3) {
        /* The supply configuration is written once after power-on (RM0433
         * §6.8.4: SCUEN; RM0455: any write locks it); later writes change
         * only the other bits. */
        bool locked =
            s->variant == FT_RCC_H7AX
                ? (*r & H7_CR3_SUPPLY_MASK) != (H7_CR3_SMPSEN | H7_CR3_LDOEN)
                : !(*r & H7_CR3_SCUEN);
        uint32_t keep = locked ? H7_CR3_SUPPLY_MASK : 0;
        *r = (*r & keep) | (value & ~keep);
        if (!locked && s->variant != FT_RCC_H7AX) {
            *r &= ~H7_CR3_SCUEN;
        }
        if (locked && ((value ^ *r) & H7_CR3_SUPPLY_MASK)) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "ft-rcc: PWR_CR3 supply configuration is locked "
                          "until power-on reset\n");
        }
        return;
    }
    *r = value;
}

static const MemoryRegionOps pwr_ops = {
    .read = pwr_read,
    .write = pwr_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid.min_access_size = 4,
    .valid.max_access_size = 4,
};

/* ---- reset values ---------------------------------------------------------
 */

static void ft_rcc_reset(DeviceState *dev)
{
    FtRccState *s = FT_RCC(dev);

    memset(s->rcc, 0, sizeof(s->rcc));
    memset(s->pwr, 0, sizeof(s->pwr));
    if (is_n6(s)) {
        s->rcc[N6_RCC_CR / 4] = 1u << 3; /* HSION [U: RM0486 reset value] */
        return;
    }
    /* RM0433 §8.7: RCC_CR 0x00000025 (HSION, HSIRDY, HSIDIVF) [U: the PLL
     * register values are the RM0433 reset values as remembered] */
    s->rcc[H7_RCC_CR / 4] = H7_CR_HSION;
    s->rcc[H7_RCC_PLLCKSELR / 4] = 0x02020200;
    s->rcc[H7_RCC_PLLCFGR / 4] = 0x01FF0000;
    s->rcc[H7_RCC_PLL1DIVR / 4] = 0x01010280;
    s->rcc[H7_RCC_PLL2DIVR / 4] = 0x01010280;
    s->rcc[H7_RCC_PLL3DIVR / 4] = 0x01010280;
    /* PWR_CR3 after power-on: LDO on, supply update allowed (SCUEN), or on
     * SMPS parts SMPSEN|LDOEN (HAL_PWREx_ConfigSupply's "not configured"
     * test); PWR_D3CR VOS = scale 3 (01) [U] */
    s->pwr[H7_PWR_CR3 / 4] = H7_CR3_LDOEN | H7_CR3_SCUEN;
    s->pwr[H7_PWR_D3CR / 4] = 1u << H7_D3CR_VOS_SHIFT;
}

static void ft_rcc_realize(DeviceState *dev, Error **errp)
{
    FtRccState *s = FT_RCC(dev);

    memory_region_init_io(&s->rcc_io, OBJECT(s), &rcc_ops, s, "ft-rcc",
                          is_n6(s) ? 0x2000 : 0x400);
    memory_region_init_io(&s->pwr_io, OBJECT(s), &pwr_ops, s, "ft-pwr",
                          sizeof(s->pwr));
    sysbus_init_mmio(SYS_BUS_DEVICE(s), &s->rcc_io);
    sysbus_init_mmio(SYS_BUS_DEVICE(s), &s->pwr_io);
}

static Property ft_rcc_properties[] = {
    DEFINE_PROP_UINT32("variant", FtRccState, variant, FT_RCC_H74X),
    DEFINE_PROP_END_OF_LIST(),
};

static void ft_rcc_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->realize = ft_rcc_realize;
    dc->reset = ft_rcc_reset;
    device_class_set_props(dc, ft_rcc_properties);
}

static const TypeInfo ft_rcc_info = {
    .name = TYPE_FT_RCC,
    .parent = TYPE_SYS_BUS_DEVICE,
    .instance_size = sizeof(FtRccState),
    .class_init = ft_rcc_class_init,
};

static void ft_rcc_register_types(void)
{
    type_register_static(&ft_rcc_info);
}

type_init(ft_rcc_register_types)
