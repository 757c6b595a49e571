#include "models/usb_std.h"

#include <string.h>

/* Configuration descriptor bmAttributes bits, USB 2.0 §9.6.3. */
#define CONFIG_SELF_POWERED  0x40
#define CONFIG_REMOTE_WAKEUP 0x20

void ft_usb_std_reset(ft_usb_std_state *state)
{
	memset(state, 0, sizeof(*state));
}

static uint32_t halt_bit(uint8_t endpoint)
{
	return 1u << ((endpoint & 0x0f) + ((endpoint & FT_USB_DIR_IN) ? 16 : 0));
}

bool ft_usb_std_halted(const ft_usb_std_state *state, uint8_t endpoint)
{
	return (endpoint & 0x0f) != 0 && (state->halted & halt_bit(endpoint));
}

/* A configuration: its descriptor bytes as the device returned them. */
typedef struct config {
	const uint8_t *bytes;
	size_t len;
} config;

/* The configuration with bConfigurationValue value, or, for value 0, the first one (what a
 * device in the Address state describes itself by). false when there is none. */
static bool find_config(const ft_usb_device *dev, uint8_t value, config *out)
{
	size_t len;
	const uint8_t *d = ft_usb_device_descriptor(dev, FT_USB_DT_DEVICE, 0, 0, &len);
	if (!d || len < FT_USB_DEVICE_DESC_SIZE)
		return false;
	unsigned count = d[17];
	for (unsigned i = 0; i < count; i++) {
		out->bytes =
		    ft_usb_device_descriptor(dev, FT_USB_DT_CONFIG, (uint8_t)i, 0, &out->len);
		if (out->bytes && out->len >= FT_USB_CONFIG_DESC_SIZE &&
		    (value == 0 || out->bytes[5] == value))
			return true;
	}
	return false;
}

static bool current_config(const ft_usb_device *dev, const ft_usb_std_state *state, config *out)
{
	return state->configuration != 0 && find_config(dev, state->configuration, out);
}

static bool has_alt_setting(const config *cfg, unsigned interface, unsigned alt)
{
	size_t pos = 0;
	const uint8_t *desc;
	while ((desc = ft_usb_desc_next(cfg->bytes, cfg->len, &pos)))
		if (desc[1] == FT_USB_DT_INTERFACE && desc[0] >= FT_USB_INTERFACE_DESC_SIZE &&
		    desc[2] == interface && desc[3] == alt)
			return true;
	return false;
}

/* The halt bits of the endpoints of an interface: of its active alternate setting (alt < 0
 * means the one in state), or of the alternate setting alt. */
static uint32_t interface_endpoints(const config *cfg, const ft_usb_std_state *state,
                                    unsigned interface, int alt)
{
	uint32_t mask = 0;
	bool inside = false;
	size_t pos = 0;
	const uint8_t *desc;
	while ((desc = ft_usb_desc_next(cfg->bytes, cfg->len, &pos))) {
		if (desc[1] == FT_USB_DT_INTERFACE && desc[0] >= FT_USB_INTERFACE_DESC_SIZE) {
			unsigned want = desc[2] < FT_USB_MAX_INTERFACES && alt < 0
			                    ? state->alt_setting[desc[2]]
			                    : (unsigned)alt;
			inside = desc[2] == interface && desc[3] == want;
		} else if (inside && desc[1] == FT_USB_DT_ENDPOINT &&
		           desc[0] >= FT_USB_ENDPOINT_DESC_SIZE) {
			mask |= halt_bit(desc[2]);
		}
	}
	return mask;
}

/* The endpoint belongs to an active alternate setting of the current configuration. */
static bool endpoint_active(const config *cfg, const ft_usb_std_state *state, uint8_t endpoint)
{
	uint32_t active = 0;
	for (unsigned i = 0; i < FT_USB_MAX_INTERFACES; i++)
		active |= interface_endpoints(cfg, state, i, -1);
	return (active & halt_bit(endpoint)) != 0;
}

static ft_usb_status reply(uint8_t *data, size_t len, size_t *actual, const void *bytes, size_t n)
{
	*actual = n < len ? n : len;
	if (*actual)
		memcpy(data, bytes, *actual);
	return FT_USB_OK;
}

static ft_usb_status get_status(const ft_usb_device *dev, ft_usb_std_state *state,
                                const ft_usb_setup *s, uint8_t *data, size_t len, size_t *actual)
{
	uint8_t status[2] = {0, 0};
	config cfg;
	switch (s->bmRequestType & FT_USB_RECIP_MASK) {
	case FT_USB_RECIP_DEVICE:
		if (find_config(dev, state->configuration, &cfg) &&
		    (cfg.bytes[7] & CONFIG_SELF_POWERED))
			status[0] |= 0x01;
		if (state->remote_wakeup)
			status[0] |= 0x02;
		break;
	case FT_USB_RECIP_INTERFACE:
		if (!current_config(dev, state, &cfg) || !has_alt_setting(&cfg, s->wIndex, 0))
			return FT_USB_STALL;
		break;
	case FT_USB_RECIP_ENDPOINT: {
		uint8_t ep = (uint8_t)s->wIndex;
		if (s->wIndex > 0xff)
			return FT_USB_STALL;
		if ((ep & 0x0f) != 0) {
			if (!current_config(dev, state, &cfg) || !endpoint_active(&cfg, state, ep))
				return FT_USB_STALL;
			status[0] = ft_usb_std_halted(state, ep) ? 0x01 : 0x00;
		}
		break;
	}
	default: return FT_USB_STALL;
	}
	return reply(data, len, actual, status, sizeof(status));
}

static ft_usb_status set_feature(const ft_usb_device *dev, ft_usb_std_state *state,
                                 const ft_usb_setup *s, bool set)
{
	config cfg;
	switch (s->bmRequestType & FT_USB_RECIP_MASK) {
	case FT_USB_RECIP_DEVICE:
		if (s->wValue != FT_USB_FEAT_DEVICE_REMOTE_WAKEUP ||
		    !find_config(dev, state->configuration, &cfg) ||
		    !(cfg.bytes[7] & CONFIG_REMOTE_WAKEUP))
			return FT_USB_STALL;
		state->remote_wakeup = set;
		return FT_USB_OK;
	case FT_USB_RECIP_ENDPOINT: {
		uint8_t ep = (uint8_t)s->wIndex;
		if (s->wValue != FT_USB_FEAT_ENDPOINT_HALT || s->wIndex > 0xff)
			return FT_USB_STALL;
		/* USB 2.0 §9.4.5: halting the default pipe is neither required nor recommended. */
		if ((ep & 0x0f) == 0)
			return FT_USB_OK;
		if (!current_config(dev, state, &cfg) || !endpoint_active(&cfg, state, ep))
			return FT_USB_STALL;
		if (set)
			state->halted |= halt_bit(ep);
		else
			state->halted &= ~halt_bit(ep);
		return FT_USB_OK;
	}
	default: return FT_USB_STALL;
	}
}

static ft_usb_status set_configuration(const ft_usb_device *dev, ft_usb_std_state *state,
                                       const ft_usb_setup *s)
{
	/* USB 2.0 §9.4.7: the upper byte of wValue is reserved. */
	uint8_t value = (uint8_t)s->wValue;
	config cfg;
	if (value != 0 && !find_config(dev, value, &cfg))
		return FT_USB_STALL;
	state->configuration = value;
	memset(state->alt_setting, 0, sizeof(state->alt_setting));
	state->halted = 0;
	return FT_USB_OK;
}

static ft_usb_status set_interface(const ft_usb_device *dev, ft_usb_std_state *state,
                                   const ft_usb_setup *s)
{
	config cfg;
	if (!current_config(dev, state, &cfg) || s->wIndex >= FT_USB_MAX_INTERFACES ||
	    s->wValue > 0xff || !has_alt_setting(&cfg, s->wIndex, s->wValue))
		return FT_USB_STALL;
	/* USB 2.0 §9.4.10: selecting a setting resets the halt of its endpoints. */
	state->halted &= ~interface_endpoints(&cfg, state, s->wIndex, s->wValue);
	state->alt_setting[s->wIndex] = (uint8_t)s->wValue;
	return FT_USB_OK;
}

static ft_usb_status get_descriptor(const ft_usb_device *dev, const ft_usb_setup *s, uint8_t *data,
                                    size_t len, size_t *actual)
{
	uint8_t type = (uint8_t)(s->wValue >> 8);
	uint8_t index = (uint8_t)s->wValue;
	uint16_t langid = type == FT_USB_DT_STRING ? s->wIndex : 0;
	size_t desc_len;
	const uint8_t *desc = ft_usb_device_descriptor(dev, type, index, langid, &desc_len);
	if (!desc)
		return FT_USB_STALL;
	return reply(data, len, actual, desc, desc_len);
}

ft_usb_status ft_usb_std_request(const ft_usb_device *dev, ft_usb_std_state *state,
                                 const uint8_t setup[8], uint8_t *data, size_t len, size_t *actual)
{
	ft_usb_setup s = ft_usb_setup_parse(setup);
	*actual = 0;
	if ((s.bmRequestType & FT_USB_TYPE_MASK) != FT_USB_TYPE_STANDARD)
		return FT_USB_STALL;
	bool in = ft_usb_setup_is_in(&s);
	unsigned recipient = s.bmRequestType & FT_USB_RECIP_MASK;
	config cfg;
	switch (s.bRequest) {
	case FT_USB_REQ_GET_STATUS:
		return in ? get_status(dev, state, &s, data, len, actual) : FT_USB_STALL;
	case FT_USB_REQ_CLEAR_FEATURE:
	case FT_USB_REQ_SET_FEATURE:
		if (in)
			return FT_USB_STALL;
		return set_feature(dev, state, &s, s.bRequest == FT_USB_REQ_SET_FEATURE);
	case FT_USB_REQ_SET_ADDRESS:
		/* USB 2.0 §9.4.6: addresses are 0..127. */
		if (in || recipient != FT_USB_RECIP_DEVICE || s.wValue > 127)
			return FT_USB_STALL;
		state->address = (uint8_t)s.wValue;
		return FT_USB_OK;
	case FT_USB_REQ_GET_DESCRIPTOR:
		if (!in || recipient != FT_USB_RECIP_DEVICE)
			return FT_USB_STALL;
		return get_descriptor(dev, &s, data, len, actual);
	case FT_USB_REQ_GET_CONFIGURATION:
		if (!in || recipient != FT_USB_RECIP_DEVICE)
			return FT_USB_STALL;
		return reply(data, len, actual, &state->configuration, 1);
	case FT_USB_REQ_SET_CONFIGURATION:
		if (in || recipient != FT_USB_RECIP_DEVICE)
			return FT_USB_STALL;
		return set_configuration(dev, state, &s);
	case FT_USB_REQ_GET_INTERFACE:
		if (!in || recipient != FT_USB_RECIP_INTERFACE ||
		    !current_config(dev, state, &cfg) || s.wIndex >= FT_USB_MAX_INTERFACES ||
		    !has_alt_setting(&cfg, s.wIndex, 0))
			return FT_USB_STALL;
		return reply(data, len, actual, &state->alt_setting[s.wIndex], 1);
	case FT_USB_REQ_SET_INTERFACE:
		if (in || recipient != FT_USB_RECIP_INTERFACE)
			return FT_USB_STALL;
		return set_interface(dev, state, &s);
	default: return FT_USB_STALL;
	}
}
