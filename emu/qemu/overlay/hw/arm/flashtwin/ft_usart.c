/*
 * STM32H7/N6 USART (the "v3" layout with ISR/ICR/RDR/TDR; RM0433 §48.8,
 * CMSIS USART_TypeDef) on a QEMU character backend: what is written to TDR
 * goes out at once, one received byte waits in RDR. Baud rate, FIFO depth,
 * parity and the synchronous/smartcard/LIN modes are not modelled.
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "hw/irq.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "hw/arm/flashtwin/ft_devices.h"

#define USART_CR1 0x00
#define USART_CR2 0x04
#define USART_CR3 0x08
#define USART_BRR 0x0C
#define USART_GTPR 0x10
#define USART_RTOR 0x14
#define USART_RQR 0x18
#define USART_ISR 0x1C
#define USART_ICR 0x20
#define USART_RDR 0x24
#define USART_TDR 0x28
#define USART_PRESC 0x2C

#define CR1_UE (1u << 0)
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define CR1_IDLEIE (1u << 4)
#define CR1_RXNEIE (1u << 5)
#define CR1_TCIE (1u << 6)
#define CR1_TXEIE (1u << 7)
#define ISR_ORE (1u << 3)
#define ISR_IDLE (1u << 4)
#define ISR_RXNE (1u << 5)
#define ISR_TC (1u << 6)
#define ISR_TXE (1u << 7)
#define ISR_TEACK (1u << 21)
#define ISR_REACK (1u << 22)
#define ISR_TXFE (1u << 23)
#define ICR_CLEARABLE                                                          \
    0x00123B5Fu /* PE FE NE ORE IDLE TXFE TC TCBGT LBD CTS                     \
                 * RTO EOB UDR CM WU: the ISR flags ICR clears */
#define RQR_RXFRQ (1u << 3)
#define ISR_RESET (ISR_TXE | ISR_TC | ISR_TXFE)

static void usart_update(FtUsartState *s)
{
    uint32_t isr = s->isr;
    bool level = ((s->cr1 & CR1_RXNEIE) && (isr & (ISR_RXNE | ISR_ORE))) ||
                 ((s->cr1 & CR1_TXEIE) && (isr & ISR_TXE)) ||
                 ((s->cr1 & CR1_TCIE) && (isr & ISR_TC)) ||
                 ((s->cr1 & CR1_IDLEIE) && (isr & ISR_IDLE));
    qemu_set_irq(s->irq, level);
}

static int usart_can_receive(void *opaque)
{
    FtUsartState *s = opaque;
    return !(s->isr & ISR_RXNE);
}

static void usart_receive(void *opaque, const uint8_t *buf, int size)
{
    FtUsartState *s = opaque;

    if ((s->cr1 & (CR1_UE | CR1_RE)) != (CR1_UE | CR1_RE)) {
        return; /* receiver off: the byte is lost, as on the wire */
    }
    s->rdr = buf[0];
    s->isr |= ISR_RXNE;
    usart_update(s);
}

static uint64_t usart_read(void *opaque, hwaddr offset, unsigned size)
{
    FtUsartState *s = opaque;

    switch (offset) {
    case USART_CR1: return s->cr1;
    case USART_CR2: return s->cr2;
    case USART_CR3: return s->cr3;
    case USART_BRR: return s->brr;
    case USART_GTPR: return s->gtpr;
    case USART_RTOR: return s->rtor;
    case USART_PRESC: return s->presc;
    case USART_ISR: {
        uint32_t v = s->isr & ~(ISR_TEACK | ISR_REACK);
        if (s->cr1 & CR1_UE) {
            v |= (s->cr1 & CR1_TE) ? ISR_TEACK : 0;
            v |= (s->cr1 & CR1_RE) ? ISR_REACK : 0;
        }
        return v;
    }
    case USART_RDR: {
        uint32_t v = s->rdr;
        s->isr &= ~ISR_RXNE;
        usart_update(s);
        qemu_chr_fe_accept_input(&s->chr);
        return v;
    }
    case USART_RQR:
    case USART_ICR:
    case USART_TDR: return 0;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ft-usart: read of reserved 0x%" HWADDR_PRIx "\n",
                      offset);
        return 0;
    }
}

static void usart_write(void *opaque, hwaddr offset, uint64_t value,
                        unsigned size)
{
    FtUsartState *s = opaque;

    switch (offset) {
    case USART_CR1: s->cr1 = value; break;
    case USART_CR2: s->cr2 = value; break;
    case USART_CR3: s->cr3 = value; break;
    case USART_BRR: s->brr = value & 0xFFFF; break;
    case USART_GTPR: s->gtpr = value & 0xFFFF; break;
    case USART_RTOR: s->rtor = value; break;
    case USART_PRESC: s->presc = value & 0xF; break;
    case USART_RQR:
        if (value & RQR_RXFRQ) {
            s->isr &= ~ISR_RXNE;
            qemu_chr_fe_accept_input(&s->chr);
        }
        break;
    case USART_ICR: s->isr &= ~(value & ICR_CLEARABLE); break;
    case USART_TDR:
        if ((s->cr1 & (CR1_UE | CR1_TE)) == (CR1_UE | CR1_TE)) {
            uint8_t ch = value;
            /* blocks the vCPU until the backend takes the byte: the guest
             * sees an infinitely fast line */
            qemu_chr_fe_write_all(&s->chr, &ch, 1);
        } else {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "ft-usart: TDR written with UE or TE clear\n");
        }
        s->isr |= ISR_TXE | ISR_TC | ISR_TXFE;
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "ft-usart: write to 0x%" HWADDR_PRIx
                      " (reserved or read-only)\n",
                      offset);
        return;
    }
    usart_update(s);
}

static const MemoryRegionOps usart_ops = {
    .read = usart_read,
    .write = usart_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid.min_access_size = 1,
    .valid.max_access_size = 4,
    .impl.min_access_size = 4,
    .impl.max_access_size = 4,
};

static void ft_usart_reset(DeviceState *dev)
{
    FtUsartState *s = FT_USART(dev);

    s->cr1 = s->cr2 = s->cr3 = s->brr = s->gtpr = s->rtor = s->presc = 0;
    s->rdr = 0;
    s->isr = ISR_RESET;
    usart_update(s);
}

static void ft_usart_init(Object *obj)
{
    FtUsartState *s = FT_USART(obj);

    memory_region_init_io(&s->io, obj, &usart_ops, s, "ft-usart", 0x400);
    sysbus_init_mmio(SYS_BUS_DEVICE(obj), &s->io);
    sysbus_init_irq(SYS_BUS_DEVICE(obj), &s->irq);
}

static void ft_usart_realize(DeviceState *dev, Error **errp)
{
    FtUsartState *s = FT_USART(dev);

    qemu_chr_fe_set_handlers(&s->chr, usart_can_receive, usart_receive, NULL,
                             NULL, s, NULL, true);
}

static Property ft_usart_properties[] = {
    DEFINE_PROP_CHR("chardev", FtUsartState, chr),
    DEFINE_PROP_END_OF_LIST(),
};

static void ft_usart_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->realize = ft_usart_realize;
    dc->reset = ft_usart_reset;
    device_class_set_props(dc, ft_usart_properties);
}

static const TypeInfo ft_usart_info = {
    .name = TYPE_FT_USART,
    .parent = TYPE_SYS_BUS_DEVICE,
    .instance_size = sizeof(FtUsartState),
    .instance_init = ft_usart_init,
    .class_init = ft_usart_class_init,
};

static void ft_usart_register_types(void)
{
    type_register_static(&ft_usart_info);
}

type_init(ft_usart_register_types)
