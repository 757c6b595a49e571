#include "programmer/dfuse/engine.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* DFU class requests, DFU 1.1 §3 Table 3.2. */
enum {
	DFU_DNLOAD = 1,
	DFU_UPLOAD = 2,
	DFU_GETSTATUS = 3,
	DFU_CLRSTATUS = 4,
	DFU_GETSTATE = 5,
	DFU_ABORT = 6,
};

/* bmRequestType of DFU requests: class, recipient interface (USB 2.0 §9.3.1). */
#define REQ_OUT 0x21
#define REQ_IN  0xA1

/* Descriptor types: USB 2.0 §9.4 Table 9-5; DFU functional, DFU 1.1 §4.1.3. */
#define DT_DEVICE         1
#define DT_CONFIG         2
#define DT_STRING         3
#define DT_INTERFACE      4
#define DT_DFU_FUNCTIONAL 0x21

/* DFU interface: class 0xFE (application specific), subclass 0x01, protocol 0x01 run-time or
 * 0x02 DFU mode (DFU 1.1 §4.1.2, §4.2.3). */
#define DFU_CLASS         0xFE
#define DFU_SUBCLASS      0x01
#define DFU_PROTO_RUNTIME 0x01
#define DFU_PROTO_DFUMODE 0x02

#define DEFAULT_CONTROL_TIMEOUT_MS 5000u /* dfu-util DFU_TIMEOUT */
#define MAX_CONFIG_BYTES           4096u /* a DFU bootloader's set is tens of bytes */
#define LANGID_EN_US               0x0409
#define RECOVER_STEPS              8
#define CLRSTATUS_ROUNDS           3
#define LAST_BLOCK                 0xFFFFu /* wBlockNum is 16 bits */

/* A DfuSe command (AN3156 §6): its byte, whether an LE32 address follows, how long it may stay
 * dfuDNBUSY, and whether a CLRSTATUS recovery may count it as done (erases only). */
typedef struct command {
	const char *name;
	uint8_t code;
	bool has_address;
	uint32_t cap_ms;
	bool erase;
} command;

static const command CMD_SET_ADDRESS = {"SET_ADDRESS", 0x21, true, FT_DFUSE_CAP_COMMAND_MS, false};
static const command CMD_ERASE_PAGE = {"ERASE_PAGE", 0x41, true, FT_DFUSE_CAP_ERASE_PAGE_MS, true};
static const command CMD_MASS_ERASE = {"MASS_ERASE", 0x41, false, FT_DFUSE_CAP_MASS_ERASE_MS, true};
static const command CMD_READ_UNPROTECT = {"READ_UNPROTECT", 0x92, false,
                                           FT_DFUSE_CAP_MASS_ERASE_MS, false};

/* Known ROM quirks (the dfu-util quirks.c pattern): match rule, symptom, source. The engine's
 * CLRSTATUS recovery applies to any device; a match only lets the warning name the cause. */
typedef struct quirk {
	const char *name;
	uint16_t vid, pid;
	const char *symptom;
	const char *source;
} quirk;

static const quirk QUIRK_H7_STUCK_DNBUSY = {
    "stm32h7-stuck-dnbusy", 0x0483, 0xDF11,
    "STM32H7 rev V ROMs never leave dfuDNBUSY after erasing in bank 2",
    "dfu-util ticket #88; fixed in STM32CubeProgrammer 2.2.1 (74031)"};

struct ft_dfuse_dev {
	ft_transport *t;
	ft_dfuse_options opts;
	ft_dfuse_device_info info;
	size_t alt;            /* index into info.alts */
	ft_dfu_getstatus last; /* behind the last result */
	bool gone;             /* left DFU mode or vanished */
	bool unsure;           /* state unknown after a failed exchange: recover first */
	uint8_t *block;        /* info.transfer_size bytes of scratch */
	char origin[192];      /* transport and alternate setting, for diags */
};

const char *ft_dfu_state_name(unsigned state)
{
	static const char *const names[] = {
	    "appIDLE",          "appDETACH",   "dfuIDLE",
	    "dfuDNLOAD-SYNC",   "dfuDNBUSY",   "dfuDNLOAD-IDLE",
	    "dfuMANIFEST-SYNC", "dfuMANIFEST", "dfuMANIFEST-WAIT-RESET",
	    "dfuUPLOAD-IDLE",   "dfuERROR",
	};
	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "state?";
}

const char *ft_dfu_status_name(unsigned status)
{
	static const char *const names[] = {
	    "OK",      "errTARGET", "errFILE",    "errWRITE",      "errERASE",    "errCHECK_ERASED",
	    "errPROG", "errVERIFY", "errADDRESS", "errNOTDONE",    "errFIRMWARE", "errVENDOR",
	    "errUSBR", "errPOR",    "errUNKNOWN", "errSTALLEDPKT",
	};
	return status < sizeof(names) / sizeof(names[0]) ? names[status] : "status?";
}

const char *ft_dfuse_phase_name(ft_dfuse_phase phase)
{
	switch (phase) {
	case FT_DFUSE_PHASE_ERASE: return "erase";
	case FT_DFUSE_PHASE_DOWNLOAD: return "download";
	case FT_DFUSE_PHASE_UPLOAD: return "upload";
	case FT_DFUSE_PHASE_VERIFY: return "verify";
	}
	return "phase?";
}

ft_error ft_dfu_parse_getstatus(const uint8_t *buf, size_t len, ft_dfu_getstatus *out,
                                ft_diag *diag)
{
	memset(out, 0, sizeof(*out));
	if (len != 6)
		return ft_diag_set(diag, FT_ERR_FORMAT, "GETSTATUS",
		                   "answer is %zu bytes, 6 expected", len);
	out->status = buf[0];
	out->poll_timeout_ms = (uint32_t)buf[1] | (uint32_t)buf[2] << 8 | (uint32_t)buf[3] << 16;
	out->state = buf[4];
	out->istring = buf[5];
	return FT_OK;
}

/* Descriptor parsing. */

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

ft_error ft_dfuse_parse_config(const uint8_t *buf, size_t len, ft_dfuse_config *out, ft_diag *diag)
{
	static const char origin[] = "configuration descriptor";
	memset(out, 0, sizeof(*out));
	if (len < 9 || buf[0] < 9 || buf[1] != DT_CONFIG)
		return ft_diag_set(diag, FT_ERR_FORMAT, origin,
		                   "header malformed: %zu bytes, bLength %u, bDescriptorType %u",
		                   len, len > 0 ? buf[0] : 0, len > 1 ? buf[1] : 0);
	size_t total = le16(buf + 2);
	if (total < buf[0] || total > len)
		return ft_diag_set(diag, FT_ERR_FORMAT, origin,
		                   "wTotalLength %zu, but %zu bytes received", total, len);
	out->configuration = buf[5];
	bool found = false, runtime = false, in_dfu = false, functional = false;
	for (size_t pos = buf[0]; pos < total;) {
		if (total - pos < 2 || buf[pos] < 2 || buf[pos] > total - pos)
			return ft_diag_set(diag, FT_ERR_FORMAT, origin,
			                   "descriptor at byte %zu has bLength %u, %zu bytes left",
			                   pos, buf[pos], total - pos);
		const uint8_t *d = buf + pos;
		uint8_t blen = d[0];
		if (d[1] == DT_INTERFACE) {
			if (blen < 9)
				return ft_diag_set(
				    diag, FT_ERR_FORMAT, origin,
				    "interface descriptor at byte %zu is %u bytes, 9 "
				    "needed",
				    pos, blen);
			bool dfu_class = d[5] == DFU_CLASS && d[6] == DFU_SUBCLASS;
			runtime |= dfu_class && d[7] == DFU_PROTO_RUNTIME;
			if (dfu_class && d[7] == DFU_PROTO_DFUMODE && !found) {
				found = true;
				out->interface = d[2];
			}
			in_dfu = found && dfu_class && d[7] == DFU_PROTO_DFUMODE &&
			         d[2] == out->interface;
			if (in_dfu) {
				for (size_t i = 0; i < out->alt_count; i++)
					if (out->alts[i].alt == d[3])
						return ft_diag_set(
						    diag, FT_ERR_FORMAT, origin,
						    "alternate setting %u listed twice (byte %zu)",
						    d[3], pos);
				if (out->alt_count == FT_DFUSE_MAX_ALTS)
					return ft_diag_set(diag, FT_ERR_FORMAT, origin,
					                   "more than %d alternate settings",
					                   FT_DFUSE_MAX_ALTS);
				out->alts[out->alt_count].alt = d[3];
				out->alts[out->alt_count].istring = d[8];
				out->alt_count++;
			}
		} else if (d[1] == DT_DFU_FUNCTIONAL && in_dfu && !functional) {
			if (blen < 7)
				return ft_diag_set(
				    diag, FT_ERR_FORMAT, origin,
				    "DFU functional descriptor at byte %zu is %u bytes, "
				    "at least 7 needed",
				    pos, blen);
			functional = true;
			out->attributes = d[2];
			out->detach_timeout_ms = le16(d + 3);
			out->transfer_size = le16(d + 5);
			out->bcd_dfu = blen >= 9 ? le16(d + 7) : 0x0100;
		}
		pos += blen;
	}
	if (!found && runtime)
		return ft_diag_set(
		    diag, FT_ERR_STATE, origin,
		    "only a run-time DFU interface (protocol 1): the device is running "
		    "its application, not the bootloader");
	if (!found)
		return ft_diag_set(diag, FT_ERR_NOT_FOUND, origin,
		                   "no DFU interface (class 0xFE, subclass 0x01, protocol 0x02)");
	if (!functional)
		return ft_diag_set(diag, FT_ERR_FORMAT, origin,
		                   "DFU interface %u has no DFU functional descriptor",
		                   out->interface);
	return FT_OK;
}

/* Diagnostics and callbacks. */

static ft_error fail(ft_dfuse_dev *dev, ft_diag *diag, ft_error code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static ft_error fail(ft_dfuse_dev *dev, ft_diag *diag, ft_error code, const char *fmt, ...)
{
	char text[sizeof(diag->message)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return ft_diag_set(diag, code, dev->origin, "%s", text);
}

static void warn(ft_dfuse_dev *dev, ft_error kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warn(ft_dfuse_dev *dev, ft_error kind, const char *fmt, ...)
{
	if (!dev->opts.warning)
		return;
	ft_diag w;
	ft_diag_clear(&w);
	char text[sizeof(w.message)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ft_diag_set(&w, kind, dev->origin, "%s", text);
	dev->opts.warning(dev->opts.user, &w);
}

static void progress(ft_dfuse_dev *dev, ft_dfuse_phase phase, uint32_t addr, uint64_t done,
                     uint64_t total)
{
	if (!dev->opts.progress)
		return;
	ft_dfuse_progress p = {phase, addr, done, total};
	dev->opts.progress(dev->opts.user, &p);
}

static void pause_ms(ft_dfuse_dev *dev, uint32_t ms)
{
	if (ms == 0)
		return;
	if (dev->opts.sleep_ms) {
		dev->opts.sleep_ms(dev->opts.user, ms);
		return;
	}
	struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void set_origin(ft_dfuse_dev *dev)
{
	const ft_dfuse_alt *a = &dev->info.alts[dev->alt];
	snprintf(dev->origin, sizeof(dev->origin), "%.150s alt %u", dev->info.transport, a->alt);
}

/* Requests. */

static ft_transfer_status request(ft_dfuse_dev *dev, uint8_t type, uint8_t req, uint16_t value,
                                  uint8_t *data, size_t len, size_t *actual, ft_diag *tdiag)
{
	uint16_t index = dev->info.interface;
	const uint8_t setup[8] = {type,           req,
	                          (uint8_t)value, (uint8_t)(value >> 8),
	                          (uint8_t)index, (uint8_t)(index >> 8),
	                          (uint8_t)len,   (uint8_t)(len >> 8)};
	ft_diag_clear(tdiag);
	ft_transfer_status st = ft_transport_control(dev->t, setup, data, len,
	                                             dev->opts.control_timeout_ms, actual, tdiag);
	if (st == FT_TRANSFER_NO_DEVICE)
		dev->gone = true;
	return st;
}

/* The error for a request whose transfer did not complete. */
static ft_error transfer_failure(ft_dfuse_dev *dev, ft_transfer_status st, const ft_diag *tdiag,
                                 const char *what, ft_diag *diag)
{
	dev->unsure = true;
	ft_error code = ft_transfer_error(st, tdiag);
	switch (st) {
	case FT_TRANSFER_STALL: return fail(dev, diag, code, "device stalled %s", what);
	case FT_TRANSFER_TIMEOUT:
		return fail(dev, diag, code, "%s: no answer within %u ms", what,
		            dev->opts.control_timeout_ms);
	case FT_TRANSFER_NO_DEVICE: return fail(dev, diag, code, "device vanished during %s", what);
	case FT_TRANSFER_OK:
	case FT_TRANSFER_IO: break;
	}
	return fail(dev, diag, code, "%s failed: %s", what, tdiag->message);
}

static ft_transfer_status status_request(ft_dfuse_dev *dev, ft_dfu_getstatus *st, ft_diag *tdiag)
{
	uint8_t buf[6];
	size_t actual;
	ft_transfer_status ts =
	    request(dev, REQ_IN, DFU_GETSTATUS, 0, buf, sizeof(buf), &actual, tdiag);
	if (ts != FT_TRANSFER_OK)
		return ts;
	if (ft_dfu_parse_getstatus(buf, actual, st, tdiag)) {
		tdiag->code = FT_ERR_PROTOCOL;
		return FT_TRANSFER_IO;
	}
	dev->last = *st;
	return FT_TRANSFER_OK;
}

/* A request without data stage (CLRSTATUS, ABORT). */
static ft_transfer_status bare_request(ft_dfuse_dev *dev, uint8_t req, ft_diag *tdiag)
{
	size_t actual;
	return request(dev, REQ_OUT, req, 0, NULL, 0, &actual, tdiag);
}

static ft_error status_error(uint8_t status)
{
	switch (status) {
	case FT_DFU_ERR_TARGET:
	case FT_DFU_ERR_ADDRESS: return FT_ERR_RANGE;
	case FT_DFU_ERR_VENDOR: return FT_ERR_PROTECTED;
	case FT_DFU_ERR_VERIFY: return FT_ERR_VERIFY;
	default: return FT_ERR_DEVICE;
	}
}

/* What a status means on an ST bootloader (AN3156, devices.md §5.3). */
static const char *status_hint(uint8_t status)
{
	switch (status) {
	case FT_DFU_ERR_TARGET: return ": the bootloader does not accept this address";
	case FT_DFU_ERR_ADDRESS: return ": address out of range";
	case FT_DFU_ERR_VENDOR:
		return ": read-out protection is active; the bootloader refuses reads, writes and "
		       "erases until READ_UNPROTECT, which mass-erases the flash";
	case FT_DFU_ERR_ERASE: return ": erase failed";
	case FT_DFU_ERR_WRITE:
	case FT_DFU_ERR_PROG: return ": programming failed (sector not erased? write-protected?)";
	case FT_DFU_ERR_VERIFY: return ": the device's own read-back differs";
	case FT_DFU_ERR_CHECK_ERASED: return ": memory not blank";
	default: return "";
	}
}

/* The device reported an error: CLRSTATUS takes it out of dfuERROR (DFU 1.1 §6.1.2: nothing
 * else does), a GETSTATUS confirms dfuIDLE, then the error is reported with the state and
 * status the device gave. */
static ft_error device_error(ft_dfuse_dev *dev, const ft_dfu_getstatus *bad, const char *what,
                             ft_diag *diag)
{
	ft_dfu_getstatus reported = *bad;
	char after[96] = "";
	ft_diag tdiag;
	ft_transfer_status ts = bare_request(dev, DFU_CLRSTATUS, &tdiag);
	if (ts != FT_TRANSFER_OK) {
		dev->unsure = true;
		snprintf(after, sizeof(after), "; CLRSTATUS failed (%s)",
		         ft_transfer_status_name(ts));
	} else {
		ft_dfu_getstatus now;
		ts = status_request(dev, &now, &tdiag);
		if (ts != FT_TRANSFER_OK) {
			dev->unsure = true;
			snprintf(after, sizeof(after), "; GETSTATUS after CLRSTATUS failed (%s)",
			         ft_transfer_status_name(ts));
		} else if (now.state != FT_DFU_IDLE || now.status != FT_DFU_STATUS_OK) {
			dev->unsure = true;
			snprintf(after, sizeof(after), "; still %s/%s after CLRSTATUS",
			         ft_dfu_state_name(now.state), ft_dfu_status_name(now.status));
		}
	}
	dev->last = reported;
	return fail(dev, diag, status_error(reported.status), "device answered %s/%s to %s%s%s",
	            ft_dfu_state_name(reported.state), ft_dfu_status_name(reported.status), what,
	            status_hint(reported.status), after);
}

/* The device refused a request with STALL: GETSTATUS tells why when it can. */
static ft_error stalled(ft_dfuse_dev *dev, const char *what, ft_diag *diag)
{
	ft_dfu_getstatus st;
	ft_diag tdiag;
	ft_transfer_status ts = status_request(dev, &st, &tdiag);
	if (ts == FT_TRANSFER_OK && (st.state == FT_DFU_ERROR || st.status != FT_DFU_STATUS_OK))
		return device_error(dev, &st, what, diag);
	dev->unsure = true;
	if (ts != FT_TRANSFER_OK)
		return fail(dev, diag, FT_ERR_PROTOCOL, "device stalled %s (and GETSTATUS: %s)",
		            what, ft_transfer_status_name(ts));
	return fail(dev, diag, FT_ERR_PROTOCOL, "device stalled %s (state %s/%s)", what,
	            ft_dfu_state_name(st.state), ft_dfu_status_name(st.status));
}

/* CLRSTATUS recovery from a stuck busy state (programmers.md §1.8 #1): CLRSTATUS, GETSTATUS,
 * until (OK, dfuIDLE); the H7 ROM answers (errUNKNOWN, dfuERROR) to the first round. A STALL
 * of CLRSTATUS (not allowed in dfuDNBUSY by DFU 1.1) is tolerated. */
static bool clrstatus_recovery(ft_dfuse_dev *dev, ft_dfu_getstatus *last)
{
	memset(last, 0, sizeof(*last));
	last->state = FT_DFU_DNBUSY;
	for (int round = 0; round < CLRSTATUS_ROUNDS; round++) {
		ft_diag tdiag;
		ft_transfer_status ts = bare_request(dev, DFU_CLRSTATUS, &tdiag);
		if (ts != FT_TRANSFER_OK && ts != FT_TRANSFER_STALL)
			return false;
		ts = status_request(dev, last, &tdiag);
		if (ts != FT_TRANSFER_OK)
			return false;
		if (last->state == FT_DFU_IDLE && last->status == FT_DFU_STATUS_OK)
			return true;
	}
	return false;
}

/* How to poll after a DNLOAD. */
typedef struct poll_spec {
	const char *what;
	uint32_t cap_ms;
	bool busy_first; /* DfuSe commands: the first GETSTATUS must answer dfuDNBUSY */
	/* Erases: what follows a successful CLRSTATUS recovery (the command then counts as done);
	 * NULL: a stuck command is a failure even when recovered. */
	const char *recovered_note;
	bool vanish_ok; /* the device may reset instead of answering (option bytes) */
} poll_spec;

typedef struct poll_result {
	ft_dfu_getstatus final;
	bool recovered;
	bool vanished;
} poll_result;

static ft_error stuck(ft_dfuse_dev *dev, const poll_spec *spec, const char *why, poll_result *res,
                      ft_diag *diag)
{
	ft_dfu_getstatus last;
	if (!clrstatus_recovery(dev, &last)) {
		dev->unsure = true;
		return fail(dev, diag, FT_ERR_TIMEOUT,
		            "%s: device %s, and CLRSTATUS did not bring it back to dfuIDLE (last "
		            "%s/%s); power-cycle the board",
		            spec->what, why, ft_dfu_state_name(last.state),
		            ft_dfu_status_name(last.status));
	}
	if (!spec->recovered_note)
		return fail(dev, diag, FT_ERR_TIMEOUT,
		            "%s: device %s; CLRSTATUS brought it back to dfuIDLE but the command "
		            "did not complete",
		            spec->what, why);
	const quirk *q = &QUIRK_H7_STUCK_DNBUSY;
	bool known = dev->info.vid == q->vid && dev->info.pid == q->pid;
	char cause[256] = "";
	if (known)
		snprintf(cause, sizeof(cause), " (quirk %s: %s; %s)", q->name, q->symptom,
		         q->source);
	warn(dev, FT_ERR_TIMEOUT, "%s: device %s; recovered with CLRSTATUS%s; %s", spec->what, why,
	     cause, spec->recovered_note);
	res->recovered = true;
	res->final = last;
	return FT_OK;
}

/* Polls GETSTATUS after a DNLOAD until the device leaves dfuDNBUSY, sleeping bwPollTimeout
 * between polls, within spec->cap_ms of total sleep and FT_DFUSE_ZERO_POLL_LIMIT polls with
 * bwPollTimeout 0. */
static ft_error poll_busy(ft_dfuse_dev *dev, const poll_spec *spec, poll_result *res, ft_diag *diag)
{
	memset(res, 0, sizeof(*res));
	uint32_t waited = 0, last_wait = 1;
	unsigned zero_polls = 0, stalls = 0;
	char why[96];
	for (bool first = true;; first = false) {
		ft_dfu_getstatus st;
		ft_diag tdiag;
		ft_transfer_status ts = status_request(dev, &st, &tdiag);
		if (ts == FT_TRANSFER_STALL && !first && stalls < FT_DFUSE_STALL_LIMIT &&
		    waited < spec->cap_ms) {
			stalls++;
			uint32_t ms =
			    last_wait < spec->cap_ms - waited ? last_wait : spec->cap_ms - waited;
			pause_ms(dev, ms);
			waited += ms;
			continue;
		}
		if (ts != FT_TRANSFER_OK) {
			if (spec->vanish_ok && ts != FT_TRANSFER_STALL) {
				dev->gone = true;
				res->vanished = true;
				return FT_OK;
			}
			char what[128];
			snprintf(what, sizeof(what), "GETSTATUS after %s%s", spec->what,
			         ts == FT_TRANSFER_STALL && stalls ? " (after retrying stalls)"
			                                           : "");
			return transfer_failure(dev, ts, &tdiag, what, diag);
		}
		if (st.state == FT_DFU_ERROR || st.status != FT_DFU_STATUS_OK)
			return device_error(dev, &st, spec->what, diag);
		if (first && spec->busy_first && st.state != FT_DFU_DNBUSY) {
			dev->unsure = true;
			return fail(dev, diag, FT_ERR_PROTOCOL,
			            "device answered %s/%s to the first GETSTATUS after %s; "
			            "dfuDNBUSY was due, so the command may not have run",
			            ft_dfu_state_name(st.state), ft_dfu_status_name(st.status),
			            spec->what);
		}
		if (st.state != FT_DFU_DNBUSY && st.state != FT_DFU_DNLOAD_SYNC) {
			res->final = st;
			return FT_OK;
		}
		if (waited >= spec->cap_ms) {
			snprintf(why, sizeof(why), "stayed %s for %u ms (cap %u ms)",
			         ft_dfu_state_name(st.state), waited, spec->cap_ms);
			return stuck(dev, spec, why, res, diag);
		}
		uint32_t ms = st.poll_timeout_ms;
		if (ms == 0 && ++zero_polls > FT_DFUSE_ZERO_POLL_LIMIT) {
			snprintf(why, sizeof(why), "answered %s with bwPollTimeout 0 on %u polls",
			         ft_dfu_state_name(st.state), zero_polls);
			return stuck(dev, spec, why, res, diag);
		}
		if (ms > spec->cap_ms - waited)
			ms = spec->cap_ms - waited;
		pause_ms(dev, ms);
		waited += ms;
		if (ms)
			last_wait = ms;
	}
}

/* The state a completed DNLOAD leaves (DFU 1.1 §6.1.2, A.1): dfuDNLOAD-IDLE. */
static ft_error expect_dnload_idle(ft_dfuse_dev *dev, const poll_result *res, const char *what,
                                   ft_diag *diag)
{
	if (res->recovered || res->vanished || res->final.state == FT_DFU_DNLOAD_IDLE)
		return FT_OK;
	dev->unsure = true;
	return fail(dev, diag, FT_ERR_PROTOCOL, "device answered %s/%s after %s; %s was due",
	            ft_dfu_state_name(res->final.state), ft_dfu_status_name(res->final.status),
	            what, ft_dfu_state_name(FT_DFU_DNLOAD_IDLE));
}

/* A DfuSe command: DNLOAD wBlockNum 0 with the command bytes, then the poll loop. */
static ft_error special(ft_dfuse_dev *dev, const command *cmd, uint32_t addr,
                        const char *recovered_note, bool *recovered, ft_diag *diag)
{
	uint8_t bytes[5] = {cmd->code, (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16),
	                    (uint8_t)(addr >> 24)};
	size_t len = cmd->has_address ? 5 : 1;
	char what[64];
	if (cmd->has_address)
		snprintf(what, sizeof(what), "%s 0x%08X", cmd->name, addr);
	else
		snprintf(what, sizeof(what), "%s", cmd->name);
	ft_diag tdiag;
	size_t actual;
	ft_transfer_status ts = request(dev, REQ_OUT, DFU_DNLOAD, 0, bytes, len, &actual, &tdiag);
	if (ts == FT_TRANSFER_STALL)
		return stalled(dev, what, diag);
	if (ts != FT_TRANSFER_OK)
		return transfer_failure(dev, ts, &tdiag, what, diag);
	poll_spec spec = {what, cmd->cap_ms, true, cmd->erase ? recovered_note : NULL, false};
	poll_result res;
	ft_error err = poll_busy(dev, &spec, &res, diag);
	if (err)
		return err;
	if (recovered)
		*recovered = res.recovered;
	return expect_dnload_idle(dev, &res, what, diag);
}

/* A data block: DNLOAD wBlockNum >= 2 with len bytes from dev->block, then the poll loop. */
static ft_error download_block(ft_dfuse_dev *dev, uint16_t block, size_t len, const char *what,
                               uint32_t cap_ms, bool vanish_ok, poll_result *res, ft_diag *diag)
{
	ft_diag tdiag;
	size_t actual;
	ft_transfer_status ts =
	    request(dev, REQ_OUT, DFU_DNLOAD, block, len ? dev->block : NULL, len, &actual, &tdiag);
	if (ts == FT_TRANSFER_STALL)
		return stalled(dev, what, diag);
	if (ts != FT_TRANSFER_OK)
		return transfer_failure(dev, ts, &tdiag, what, diag);
	poll_spec spec = {what, cap_ms, false, NULL, vanish_ok};
	ft_error err = poll_busy(dev, &spec, res, diag);
	if (err)
		return err;
	return expect_dnload_idle(dev, res, what, diag);
}

/* ABORT, then GETSTATUS must answer dfuIDLE (dfu-util dfu_abort_to_idle). */
static ft_error abort_to_idle(ft_dfuse_dev *dev, ft_diag *diag)
{
	ft_diag tdiag;
	ft_transfer_status ts = bare_request(dev, DFU_ABORT, &tdiag);
	if (ts != FT_TRANSFER_OK)
		return transfer_failure(dev, ts, &tdiag, "ABORT", diag);
	ft_dfu_getstatus st;
	ts = status_request(dev, &st, &tdiag);
	if (ts != FT_TRANSFER_OK)
		return transfer_failure(dev, ts, &tdiag, "GETSTATUS after ABORT", diag);
	if (st.state == FT_DFU_ERROR || st.status != FT_DFU_STATUS_OK)
		return device_error(dev, &st, "ABORT", diag);
	if (st.state != FT_DFU_IDLE) {
		dev->unsure = true;
		return fail(dev, diag, FT_ERR_PROTOCOL,
		            "device answered %s/%s to ABORT; %s was due",
		            ft_dfu_state_name(st.state), ft_dfu_status_name(st.status),
		            ft_dfu_state_name(FT_DFU_IDLE));
	}
	return FT_OK;
}

/* Public requests. */

ft_error ft_dfuse_get_status(ft_dfuse_dev *dev, ft_dfu_getstatus *out, ft_diag *diag)
{
	ft_diag tdiag;
	ft_transfer_status ts = status_request(dev, out, &tdiag);
	if (ts != FT_TRANSFER_OK)
		return transfer_failure(dev, ts, &tdiag, "GETSTATUS", diag);
	return FT_OK;
}

ft_error ft_dfuse_get_state(ft_dfuse_dev *dev, uint8_t *state, ft_diag *diag)
{
	ft_diag tdiag;
	size_t actual;
	ft_transfer_status ts = request(dev, REQ_IN, DFU_GETSTATE, 0, state, 1, &actual, &tdiag);
	if (ts != FT_TRANSFER_OK)
		return transfer_failure(dev, ts, &tdiag, "GETSTATE", diag);
	if (actual != 1)
		return fail(dev, diag, FT_ERR_PROTOCOL, "GETSTATE answered %zu bytes, 1 expected",
		            actual);
	return FT_OK;
}

ft_error ft_dfuse_clear_status(ft_dfuse_dev *dev, ft_diag *diag)
{
	ft_diag tdiag;
	ft_transfer_status ts = bare_request(dev, DFU_CLRSTATUS, &tdiag);
	if (ts != FT_TRANSFER_OK)
		return transfer_failure(dev, ts, &tdiag, "CLRSTATUS", diag);
	return FT_OK;
}

ft_error ft_dfuse_abort(ft_dfuse_dev *dev, ft_diag *diag)
{
	ft_diag tdiag;
	ft_transfer_status ts = bare_request(dev, DFU_ABORT, &tdiag);
	if (ts != FT_TRANSFER_OK)
		return transfer_failure(dev, ts, &tdiag, "ABORT", diag);
	return FT_OK;
}

static ft_error check_present(ft_dfuse_dev *dev, ft_diag *diag)
{
	if (dev->gone)
		return fail(
		    dev, diag, FT_ERR_STATE,
		    "device has left DFU mode or vanished; reopen it once it re-enumerates");
	return FT_OK;
}

ft_error ft_dfuse_recover_idle(ft_dfuse_dev *dev, ft_diag *diag)
{
	ft_error err = check_present(dev, diag);
	if (err)
		return err;
	uint32_t waited = 0;
	ft_dfu_getstatus st = {0};
	for (int step = 0; step < RECOVER_STEPS; step++) {
		ft_diag tdiag;
		ft_transfer_status ts = status_request(dev, &st, &tdiag);
		if (ts != FT_TRANSFER_OK)
			return transfer_failure(dev, ts, &tdiag, "GETSTATUS", diag);
		uint8_t req = 0;
		switch (st.state) {
		case FT_DFU_IDLE:
			if (st.status == FT_DFU_STATUS_OK) {
				dev->unsure = false;
				return FT_OK;
			}
			req = DFU_CLRSTATUS;
			break;
		case FT_DFU_ERROR: req = DFU_CLRSTATUS; break;
		case FT_DFU_DNLOAD_IDLE:
		case FT_DFU_UPLOAD_IDLE: req = DFU_ABORT; break;
		case FT_DFU_DNLOAD_SYNC:
		case FT_DFU_DNBUSY:
		case FT_DFU_MANIFEST_SYNC:
			if (waited < FT_DFUSE_CAP_COMMAND_MS) {
				uint32_t ms = st.poll_timeout_ms < FT_DFUSE_CAP_COMMAND_MS - waited
				                  ? st.poll_timeout_ms
				                  : FT_DFUSE_CAP_COMMAND_MS - waited;
				pause_ms(dev, ms);
				waited += ms;
				continue;
			}
			req = DFU_CLRSTATUS;
			break;
		case FT_DFU_APP_IDLE:
		case FT_DFU_APP_DETACH:
			return fail(dev, diag, FT_ERR_STATE,
			            "device is in run-time mode (%s): start the system bootloader "
			            "(BOOT0 high, then reset)",
			            ft_dfu_state_name(st.state));
		case FT_DFU_MANIFEST:
		case FT_DFU_MANIFEST_WAIT_RESET:
			return fail(dev, diag, FT_ERR_STATE, "device is in %s; reset it",
			            ft_dfu_state_name(st.state));
		default:
			dev->unsure = true;
			return fail(dev, diag, FT_ERR_PROTOCOL, "device reports unknown state %u",
			            st.state);
		}
		ts = bare_request(dev, req, &tdiag);
		/* CLRSTATUS in a busy state is not in DFU 1.1; a STALL there is an answer. */
		if (ts != FT_TRANSFER_OK &&
		    !(ts == FT_TRANSFER_STALL && req == DFU_CLRSTATUS && st.state != FT_DFU_ERROR))
			return transfer_failure(dev, ts, &tdiag,
			                        req == DFU_ABORT ? "ABORT" : "CLRSTATUS", diag);
	}
	dev->unsure = true;
	return fail(dev, diag, FT_ERR_TIMEOUT, "device did not reach %s in %d steps (last %s/%s)",
	            ft_dfu_state_name(FT_DFU_IDLE), RECOVER_STEPS, ft_dfu_state_name(st.state),
	            ft_dfu_status_name(st.status));
}

/* Every operation starts here: a gone device is refused, an unsure one recovered. */
static ft_error begin(ft_dfuse_dev *dev, ft_diag *diag)
{
	ft_error err = check_present(dev, diag);
	if (err || !dev->unsure)
		return err;
	return ft_dfuse_recover_idle(dev, diag);
}

/* Layout checks. */

static const ft_dfuse_alt *current(const ft_dfuse_dev *dev)
{
	return &dev->info.alts[dev->alt];
}

static const ft_dfuse_group *group_of(const ft_dfuse_dev *dev, uint32_t addr)
{
	const ft_dfuse_alt *a = current(dev);
	if (a->layout_diag.code != FT_OK)
		return NULL;
	return ft_dfuse_layout_find(&a->layout, addr);
}

static void access_text(uint8_t type, char out[4])
{
	int n = 0;
	if (type & FT_DFUSE_READABLE)
		out[n++] = 'r';
	if (type & FT_DFUSE_ERASABLE)
		out[n++] = 'e';
	if (type & FT_DFUSE_WRITEABLE)
		out[n++] = 'w';
	if (n == 0)
		out[n++] = '-';
	out[n] = '\0';
}

/* "0x08000000 16*128K rew, ..." */
static void layout_summary(const ft_dfuse_layout *layout, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < layout->group_count; i++) {
		const ft_dfuse_group *g = &layout->groups[i];
		char acc[4];
		access_text(g->type, acc);
		bool kib = g->sector_size % 1024 == 0;
		int n = snprintf(out + used, cap - used, "%s0x%08X %u*%u%s %s", i ? ", " : "",
		                 g->start, g->count, kib ? g->sector_size / 1024 : g->sector_size,
		                 kib ? "K" : "B", acc);
		if (n < 0 || (size_t)n >= cap - used) {
			out[used] = '\0';
			return;
		}
		used += (size_t)n;
	}
}

static const char *access_name(uint8_t need)
{
	return need == FT_DFUSE_WRITEABLE  ? "writeable"
	       : need == FT_DFUSE_ERASABLE ? "erasable"
	                                   : "readable";
}

/* Refuses, before anything is sent, a range the selected layout does not allow. */
static ft_error check_range(ft_dfuse_dev *dev, uint32_t addr, uint64_t len, uint8_t need,
                            const char *op, ft_diag *diag)
{
	uint64_t end = (uint64_t)addr + len;
	if (end > (uint64_t)UINT32_MAX + 1)
		return fail(dev, diag, FT_ERR_RANGE, "cannot %s 0x%08X + %llu bytes: past 4 GiB",
		            op, addr, (unsigned long long)len);
	if (dev->opts.force || len == 0)
		return FT_OK;
	const ft_dfuse_alt *a = current(dev);
	if (a->layout_diag.code != FT_OK)
		return fail(dev, diag, FT_ERR_RANGE,
		            "cannot %s 0x%08X: alt %u \"%s\" has no usable memory layout (%s); "
		            "nothing was sent",
		            op, addr, a->alt, a->name, a->layout_diag.message);
	for (uint64_t at = addr; at < end;) {
		const ft_dfuse_group *g = ft_dfuse_layout_find(&a->layout, (uint32_t)at);
		if (!g || !(g->type & need)) {
			char summary[200], where[32];
			layout_summary(&a->layout, summary, sizeof(summary));
			if (g)
				snprintf(where, sizeof(where), "not %s in", access_name(need));
			else
				snprintf(where, sizeof(where), "outside");
			return fail(
			    dev, diag, FT_ERR_RANGE,
			    "cannot %s 0x%08X..0x%08llX: 0x%08llX is %s alt %u \"%s\" (%s); "
			    "nothing was sent",
			    op, addr, (unsigned long long)(end - 1), (unsigned long long)at, where,
			    a->alt, a->layout.name, summary);
		}
		at = (uint64_t)g->start + (uint64_t)g->count * g->sector_size;
	}
	return FT_OK;
}

/* Selection. */

ft_error ft_dfuse_select_alt(ft_dfuse_dev *dev, size_t index, ft_diag *diag)
{
	ft_error err = check_present(dev, diag);
	if (err)
		return err;
	if (index >= dev->info.alt_count)
		return fail(dev, diag, FT_ERR_INVALID_ARG, "no alternate setting index %zu (%zu)",
		            index, dev->info.alt_count);
	err = ft_transport_set_interface(dev->t, dev->info.interface, dev->info.alts[index].alt,
	                                 dev->opts.control_timeout_ms, diag);
	if (err) {
		dev->unsure = true;
		return err;
	}
	dev->alt = index;
	set_origin(dev);
	return FT_OK;
}

size_t ft_dfuse_current_alt(const ft_dfuse_dev *dev)
{
	return dev->alt;
}

int ft_dfuse_find_alt(const ft_dfuse_dev *dev, uint32_t addr)
{
	for (size_t i = 0; i < dev->info.alt_count; i++) {
		const ft_dfuse_alt *a = &dev->info.alts[i];
		if (a->layout_diag.code == FT_OK && ft_dfuse_layout_find(&a->layout, addr))
			return (int)i;
	}
	return -1;
}

const ft_dfuse_device_info *ft_dfuse_info(const ft_dfuse_dev *dev)
{
	return &dev->info;
}

ft_dfu_getstatus ft_dfuse_last_status(const ft_dfuse_dev *dev)
{
	return dev->last;
}

bool ft_dfuse_is_gone(const ft_dfuse_dev *dev)
{
	return dev->gone;
}

/* Commands. */

ft_error ft_dfuse_set_address(ft_dfuse_dev *dev, uint32_t addr, ft_diag *diag)
{
	ft_error err = begin(dev, diag);
	if (err)
		return err;
	return special(dev, &CMD_SET_ADDRESS, addr, NULL, NULL, diag);
}

/* Upload modes: into a buffer, compared with expected bytes, or compared with 0xFF. */
typedef enum upload_mode { UPLOAD_READ, UPLOAD_VERIFY, UPLOAD_BLANK } upload_mode;

/* SET_ADDRESS, ABORT to dfuIDLE, UPLOAD blocks numbered from 2, ABORT. Blocks are numbered
 * only when the engine's block size is the device's wTransferSize (the device computes the
 * address with its own); otherwise every block gets its own SET_ADDRESS. */
static ft_error upload_range(ft_dfuse_dev *dev, uint32_t addr, uint8_t *buf,
                             const uint8_t *expected, size_t len, upload_mode mode,
                             ft_dfuse_phase phase, ft_diag *diag)
{
	size_t xfer = dev->info.transfer_size;
	bool numbered = xfer == dev->info.transfer_size_reported;
	uint32_t block = 0; /* 0: an address must be set first */
	bool uploading = false;
	for (size_t off = 0; off < len;) {
		size_t n = len - off < xfer ? len - off : xfer;
		uint32_t a = addr + (uint32_t)off;
		ft_error err;
		if (block == 0 || !numbered || block > LAST_BLOCK) {
			if (uploading && (err = abort_to_idle(dev, diag)))
				return err;
			uploading = false;
			if ((err = special(dev, &CMD_SET_ADDRESS, a, NULL, NULL, diag)) ||
			    (err = abort_to_idle(dev, diag)))
				return err;
			block = 2;
		}
		uint8_t *dst = mode == UPLOAD_READ ? buf + off : dev->block;
		char what[80];
		snprintf(what, sizeof(what), "UPLOAD block %u (%zu bytes at 0x%08X)", block, n, a);
		ft_diag tdiag;
		size_t actual;
		ft_transfer_status ts =
		    request(dev, REQ_IN, DFU_UPLOAD, (uint16_t)block, dst, n, &actual, &tdiag);
		if (ts == FT_TRANSFER_STALL)
			return stalled(dev, what, diag);
		if (ts != FT_TRANSFER_OK)
			return transfer_failure(dev, ts, &tdiag, what, diag);
		uploading = true;
		if (actual != n) {
			dev->unsure = true;
			return fail(dev, diag, FT_ERR_PROTOCOL, "%s returned %zu bytes", what,
			            actual);
		}
		for (size_t i = 0; mode != UPLOAD_READ && i < n; i++) {
			uint8_t want = mode == UPLOAD_BLANK ? 0xFF : expected[off + i];
			if (dst[i] == want)
				continue;
			dev->unsure = true; /* left in dfuUPLOAD-IDLE; the next call recovers */
			return fail(dev, diag, FT_ERR_VERIFY,
			            "%s: 0x%08X reads 0x%02X, expected 0x%02X",
			            mode == UPLOAD_BLANK ? "blank check" : "verify",
			            a + (uint32_t)i, dst[i], want);
		}
		block++;
		off += n;
		progress(dev, phase, a, off, len);
	}
	return uploading ? abort_to_idle(dev, diag) : FT_OK;
}

static ft_error erase_one(ft_dfuse_dev *dev, uint32_t addr, ft_diag *diag)
{
	const ft_dfuse_group *g = group_of(dev, addr);
	bool recovered = false;
	ft_error err = special(dev, &CMD_ERASE_PAGE, addr,
	                       g ? "the sector is read back to check it is blank"
	                         : "the sector cannot be checked (no layout)",
	                       &recovered, diag);
	if (err || !recovered || !g)
		return err;
	uint32_t start = g->start + (addr - g->start) / g->sector_size * g->sector_size;
	return upload_range(dev, start, NULL, NULL, g->sector_size, UPLOAD_BLANK,
	                    FT_DFUSE_PHASE_VERIFY, diag);
}

ft_error ft_dfuse_erase_sector(ft_dfuse_dev *dev, uint32_t addr, ft_diag *diag)
{
	ft_error err = begin(dev, diag);
	if (!err)
		err = check_range(dev, addr, 1, FT_DFUSE_ERASABLE, "erase", diag);
	if (!err)
		err = erase_one(dev, addr, diag);
	return err;
}

/* The sector of the selected layout holding at. */
static ft_error sector_at(ft_dfuse_dev *dev, uint64_t at, uint32_t *start, uint32_t *size,
                          ft_diag *diag)
{
	const ft_dfuse_group *g = group_of(dev, (uint32_t)at);
	if (!g)
		return fail(dev, diag, FT_ERR_RANGE,
		            "cannot erase 0x%08llX: no sector of the layout holds it",
		            (unsigned long long)at);
	*start = (uint32_t)(g->start + (at - g->start) / g->sector_size * g->sector_size);
	*size = g->sector_size;
	return FT_OK;
}

ft_error ft_dfuse_erase_range(ft_dfuse_dev *dev, uint32_t addr, uint32_t len, ft_diag *diag)
{
	ft_error err = begin(dev, diag);
	if (!err)
		err = check_range(dev, addr, len, FT_DFUSE_ERASABLE, "erase", diag);
	if (err || len == 0)
		return err;
	uint64_t end = (uint64_t)addr + len;
	uint32_t start, size;
	/* The total, for progress; this also refuses a range the layout does not cover. */
	uint64_t total = 0;
	for (uint64_t at = addr; at < end; at = (uint64_t)start + size) {
		if ((err = sector_at(dev, at, &start, &size, diag)))
			return err;
		total += size;
	}
	uint64_t done = 0;
	for (uint64_t at = addr; at < end; at = (uint64_t)start + size) {
		if ((err = sector_at(dev, at, &start, &size, diag)) ||
		    (err = erase_one(dev, start, diag)))
			return err;
		done += size;
		progress(dev, FT_DFUSE_PHASE_ERASE, start, done, total);
	}
	return FT_OK;
}

ft_error ft_dfuse_mass_erase(ft_dfuse_dev *dev, ft_diag *diag)
{
	ft_error err = begin(dev, diag);
	if (err)
		return err;
	return special(dev, &CMD_MASS_ERASE, 0,
	               "the flash is treated as erased; verification of the written data follows",
	               NULL, diag);
}

ft_error ft_dfuse_read_unprotect(ft_dfuse_dev *dev, ft_diag *diag)
{
	ft_error err = begin(dev, diag);
	if (err)
		return err;
	uint8_t code = CMD_READ_UNPROTECT.code;
	const char *what = CMD_READ_UNPROTECT.name;
	ft_diag tdiag;
	size_t actual;
	ft_transfer_status ts = request(dev, REQ_OUT, DFU_DNLOAD, 0, &code, 1, &actual, &tdiag);
	if (ts == FT_TRANSFER_STALL)
		return stalled(dev, what, diag);
	if (ts != FT_TRANSFER_OK)
		return transfer_failure(dev, ts, &tdiag, what, diag);
	/* AN3156: the device mass-erases and resets; dfu-util returns after the first poll. */
	ft_dfu_getstatus st;
	ts = status_request(dev, &st, &tdiag);
	if (ts == FT_TRANSFER_OK && (st.state == FT_DFU_ERROR || st.status != FT_DFU_STATUS_OK))
		return device_error(dev, &st, what, diag);
	if (ts == FT_TRANSFER_STALL)
		return transfer_failure(dev, ts, &tdiag, "GETSTATUS after READ_UNPROTECT", diag);
	if (ts == FT_TRANSFER_OK && st.state != FT_DFU_DNBUSY) {
		dev->unsure = true;
		return fail(dev, diag, FT_ERR_PROTOCOL, "device answered %s/%s to %s; %s was due",
		            ft_dfu_state_name(st.state), ft_dfu_status_name(st.status), what,
		            ft_dfu_state_name(FT_DFU_DNBUSY));
	}
	dev->gone = true;
	return FT_OK;
}

ft_error ft_dfuse_write(ft_dfuse_dev *dev, uint32_t addr, const uint8_t *data, size_t len,
                        ft_diag *diag)
{
	ft_error err = begin(dev, diag);
	if (!err)
		err = check_range(dev, addr, len, FT_DFUSE_WRITEABLE, "write", diag);
	if (err)
		return err;
	size_t xfer = dev->info.transfer_size;
	bool numbered = dev->opts.contiguous_blocks && xfer == dev->info.transfer_size_reported;
	uint32_t block = 0;
	for (size_t off = 0; off < len;) {
		size_t n = len - off < xfer ? len - off : xfer;
		uint32_t a = addr + (uint32_t)off;
		if (block == 0 || !numbered || block > LAST_BLOCK) {
			if ((err = special(dev, &CMD_SET_ADDRESS, a, NULL, NULL, diag)))
				return err;
			block = 2;
		}
		memcpy(dev->block, data + off, n);
		char what[80];
		snprintf(what, sizeof(what), "DNLOAD block %u (%zu bytes at 0x%08X)", block, n, a);
		poll_result res;
		err = download_block(dev, (uint16_t)block, n, what, FT_DFUSE_CAP_DOWNLOAD_MS, false,
		                     &res, diag);
		if (err)
			return err;
		block++;
		off += n;
		progress(dev, FT_DFUSE_PHASE_DOWNLOAD, a, off, len);
	}
	return FT_OK;
}

ft_error ft_dfuse_read(ft_dfuse_dev *dev, uint32_t addr, uint8_t *buf, size_t len, ft_diag *diag)
{
	ft_error err = begin(dev, diag);
	if (!err)
		err = check_range(dev, addr, len, FT_DFUSE_READABLE, "read", diag);
	if (err)
		return err;
	return upload_range(dev, addr, buf, NULL, len, UPLOAD_READ, FT_DFUSE_PHASE_UPLOAD, diag);
}

ft_error ft_dfuse_verify(ft_dfuse_dev *dev, uint32_t addr, const uint8_t *expected, size_t len,
                         ft_diag *diag)
{
	ft_error err = begin(dev, diag);
	if (!err)
		err = check_range(dev, addr, len, FT_DFUSE_READABLE, "verify", diag);
	if (err)
		return err;
	return upload_range(dev, addr, NULL, expected, len, UPLOAD_VERIFY, FT_DFUSE_PHASE_VERIFY,
	                    diag);
}

ft_error ft_dfuse_leave(ft_dfuse_dev *dev, uint32_t addr, ft_diag *diag)
{
	ft_error err = begin(dev, diag);
	if (!err)
		err = special(dev, &CMD_SET_ADDRESS, addr, NULL, NULL, diag);
	if (err)
		return err;
	char what[80];
	snprintf(what, sizeof(what), "leave (zero-length DNLOAD after SET_ADDRESS 0x%08X)", addr);
	ft_diag tdiag;
	size_t actual;
	/* dfu-util sends the zero-length DNLOAD with wBlockNum 2 (dfuse_dnload_chunk). */
	ft_transfer_status ts = request(dev, REQ_OUT, DFU_DNLOAD, 2, NULL, 0, &actual, &tdiag);
	if (ts == FT_TRANSFER_STALL)
		return stalled(dev, what, diag);
	if (ts != FT_TRANSFER_OK)
		return transfer_failure(dev, ts, &tdiag, what, diag);
	/* The ST ROM jumps while or right after answering this GETSTATUS: a device that resets
	 * before the answer reaches us has done what was asked (programmers.md §1.8 #4). */
	ft_dfu_getstatus st;
	ts = status_request(dev, &st, &tdiag);
	if (ts == FT_TRANSFER_NO_DEVICE || ts == FT_TRANSFER_IO || ts == FT_TRANSFER_TIMEOUT) {
		dev->gone = true;
		return FT_OK;
	}
	if (ts != FT_TRANSFER_OK)
		return transfer_failure(dev, ts, &tdiag, "GETSTATUS after leave", diag);
	if (st.state == FT_DFU_ERROR || st.status != FT_DFU_STATUS_OK)
		return device_error(dev, &st, what, diag);
	switch (st.state) {
	case FT_DFU_MANIFEST_SYNC:
	case FT_DFU_MANIFEST:
	case FT_DFU_MANIFEST_WAIT_RESET:
	case FT_DFU_DNBUSY:
	case FT_DFU_APP_IDLE:
	case FT_DFU_APP_DETACH: dev->gone = true; return FT_OK;
	default:
		dev->unsure = true;
		return fail(dev, diag, FT_ERR_PROTOCOL,
		            "device answered %s/%s to %s and stays in DFU mode",
		            ft_dfu_state_name(st.state), ft_dfu_status_name(st.status), what);
	}
}

/* Option bytes. */

static int option_alt(const ft_dfuse_dev *dev)
{
	for (size_t i = 0; i < dev->info.alt_count; i++) {
		const ft_dfuse_alt *a = &dev->info.alts[i];
		if (a->layout_diag.code == FT_OK && strcmp(a->layout.name, "Option Bytes") == 0)
			return (int)i;
	}
	return -1;
}

/* Selects the option-byte alternate setting; *prev receives the one to return to. */
static ft_error enter_option_alt(ft_dfuse_dev *dev, size_t *prev, ft_diag *diag)
{
	ft_error err = begin(dev, diag);
	if (err)
		return err;
	int idx = option_alt(dev);
	if (idx < 0)
		return fail(dev, diag, FT_ERR_UNSUPPORTED,
		            "device has no \"Option Bytes\" alternate setting");
	*prev = dev->alt;
	return ft_dfuse_select_alt(dev, (size_t)idx, diag);
}

ft_error ft_dfuse_read_option_bytes(ft_dfuse_dev *dev, uint8_t *buf, size_t cap, size_t *len,
                                    ft_diag *diag)
{
	*len = 0;
	size_t prev;
	ft_error err = enter_option_alt(dev, &prev, diag);
	if (err)
		return err;
	const ft_dfuse_layout *layout = &current(dev)->layout;
	uint64_t size = ft_dfuse_layout_size(layout);
	if (size > cap)
		err = fail(dev, diag, FT_ERR_RANGE, "option bytes are %llu bytes, buffer holds %zu",
		           (unsigned long long)size, cap);
	else
		err = upload_range(dev, layout->groups[0].start, buf, NULL, (size_t)size,
		                   UPLOAD_READ, FT_DFUSE_PHASE_UPLOAD, diag);
	if (!err)
		*len = (size_t)size;
	ft_error back = ft_dfuse_select_alt(dev, prev, err ? NULL : diag);
	return err ? err : back;
}

ft_error ft_dfuse_write_option_bytes(ft_dfuse_dev *dev, const uint8_t *data, size_t len,
                                     ft_diag *diag)
{
	size_t prev;
	ft_error err = enter_option_alt(dev, &prev, diag);
	if (err)
		return err;
	const ft_dfuse_layout *layout = &current(dev)->layout;
	uint32_t start = layout->groups[0].start;
	err = check_range(dev, start, len, FT_DFUSE_WRITEABLE, "write option bytes", diag);
	if (!err && len > dev->info.transfer_size)
		err =
		    fail(dev, diag, FT_ERR_RANGE, "%zu option-byte bytes exceed one %u-byte block",
		         len, dev->info.transfer_size);
	if (!err)
		err = special(dev, &CMD_SET_ADDRESS, start, NULL, NULL, diag);
	poll_result res = {0};
	if (!err) {
		memcpy(dev->block, data, len);
		char what[64];
		snprintf(what, sizeof(what), "DNLOAD of %zu option-byte bytes at 0x%08X", len,
		         start);
		/* The ROM may reload the option bytes and reset instead of answering. */
		err = download_block(dev, 2, len, what, FT_DFUSE_CAP_OPTION_MS, true, &res, diag);
	}
	if (dev->gone)
		return err;
	ft_error back = ft_dfuse_select_alt(dev, prev, err ? NULL : diag);
	return err ? err : back;
}

/* Opening. */

/* Reads string descriptor index; 0 or a STALL give "". */
static ft_error read_string(ft_dfuse_dev *dev, uint8_t index, uint16_t langid, char *out,
                            size_t cap, ft_diag *diag)
{
	out[0] = '\0';
	if (index == 0)
		return FT_OK;
	ft_diag local;
	ft_diag_clear(&local);
	ft_error err = ft_transport_get_string(dev->t, index, langid, out, cap,
	                                       dev->opts.control_timeout_ms, &local);
	if (err == FT_ERR_UNSUPPORTED)
		return FT_OK;
	if (err && diag)
		*diag = local;
	return err;
}

static ft_error enumerate(ft_dfuse_dev *dev, ft_diag *diag)
{
	ft_dfuse_device_info *info = &dev->info;
	unsigned tmo = dev->opts.control_timeout_ms;
	uint8_t dd[18];
	size_t len;
	ft_error err =
	    ft_transport_get_descriptor(dev->t, DT_DEVICE, 0, 0, dd, sizeof(dd), &len, tmo, diag);
	if (err)
		return err;
	if (len < 18 || dd[0] < 18)
		return fail(dev, diag, FT_ERR_FORMAT, "device descriptor is %zu bytes (bLength %u)",
		            len, dd[0]);
	info->vid = le16(dd + 8);
	info->pid = le16(dd + 10);
	info->bcd_device = le16(dd + 12);
	uint8_t imanufacturer = dd[14], iproduct = dd[15], iserial = dd[16];

	uint8_t head[9];
	err = ft_transport_get_descriptor(dev->t, DT_CONFIG, 0, 0, head, sizeof(head), &len, tmo,
	                                  diag);
	if (err)
		return err;
	size_t total = len >= 4 ? le16(head + 2) : 0;
	if (total < 9 || total > MAX_CONFIG_BYTES)
		return fail(dev, diag, FT_ERR_FORMAT,
		            "configuration descriptor wTotalLength %zu (9..%u accepted)", total,
		            MAX_CONFIG_BYTES);
	uint8_t *config = malloc(total);
	if (!config)
		return fail(dev, diag, FT_ERR_NO_MEM, "out of memory");
	err = ft_transport_get_descriptor(dev->t, DT_CONFIG, 0, 0, config, total, &len, tmo, diag);
	ft_dfuse_config cfg;
	if (!err)
		err = ft_dfuse_parse_config(config, len, &cfg, diag);
	free(config);
	if (err)
		return err;

	uint16_t langid = LANGID_EN_US;
	uint8_t langs[255];
	ft_diag local;
	err = ft_transport_get_descriptor(dev->t, DT_STRING, 0, 0, langs, sizeof(langs), &len, tmo,
	                                  &local);
	if (!err && len >= 4)
		langid = le16(langs + 2);
	else if (err && err != FT_ERR_UNSUPPORTED) {
		if (diag)
			*diag = local;
		return err;
	}
	if ((err = read_string(dev, imanufacturer, langid, info->manufacturer,
	                       sizeof(info->manufacturer), diag)) ||
	    (err =
	         read_string(dev, iproduct, langid, info->product, sizeof(info->product), diag)) ||
	    (err = read_string(dev, iserial, langid, info->serial, sizeof(info->serial), diag)))
		return err;

	info->configuration = cfg.configuration;
	info->interface = cfg.interface;
	info->attributes = cfg.attributes;
	info->detach_timeout_ms = cfg.detach_timeout_ms;
	info->transfer_size_reported = cfg.transfer_size;
	info->bcd_dfu = cfg.bcd_dfu;
	info->alt_count = cfg.alt_count;
	for (size_t i = 0; i < cfg.alt_count; i++) {
		ft_dfuse_alt *a = &info->alts[i];
		a->alt = cfg.alts[i].alt;
		if ((err = read_string(dev, cfg.alts[i].istring, langid, a->name, sizeof(a->name),
		                       diag)))
			return err;
		ft_diag_clear(&a->layout_diag);
		ft_dfuse_layout_parse(a->name, strlen(a->name), &a->layout, &a->layout_diag);
	}
	return FT_OK;
}

ft_error ft_dfuse_open(ft_transport *t, const ft_dfuse_options *opts, ft_dfuse_dev **out,
                       ft_diag *diag)
{
	*out = NULL;
	ft_dfuse_dev *dev = calloc(1, sizeof(*dev));
	if (!dev)
		return ft_diag_set(diag, FT_ERR_NO_MEM, ft_transport_describe(t), "out of memory");
	dev->t = t;
	if (opts)
		dev->opts = *opts;
	if (dev->opts.control_timeout_ms == 0)
		dev->opts.control_timeout_ms = DEFAULT_CONTROL_TIMEOUT_MS;
	snprintf(dev->info.transport, sizeof(dev->info.transport), "%.190s",
	         ft_transport_describe(t));
	snprintf(dev->origin, sizeof(dev->origin), "%s", dev->info.transport);

	ft_error err = enumerate(dev, diag);
	if (!err) {
		uint32_t xfer = dev->opts.transfer_size ? dev->opts.transfer_size
		                                        : dev->info.transfer_size_reported;
		if (xfer == 0)
			err = fail(dev, diag, FT_ERR_FORMAT,
			           "the DFU functional descriptor reports wTransferSize 0");
		dev->info.transfer_size =
		    (uint16_t)(xfer > FT_DFUSE_MAX_TRANSFER ? FT_DFUSE_MAX_TRANSFER : xfer);
	}
	if (!err && !(dev->block = malloc(dev->info.transfer_size)))
		err = fail(dev, diag, FT_ERR_NO_MEM, "out of memory");
	if (!err)
		err = ft_transport_set_configuration(t, dev->info.configuration,
		                                     dev->opts.control_timeout_ms, diag);
	if (!err)
		err = ft_dfuse_select_alt(dev, 0, diag);
	if (!err)
		err = ft_dfuse_recover_idle(dev, diag);
	if (err) {
		ft_dfuse_close(dev);
		return err;
	}
	*out = dev;
	return FT_OK;
}

void ft_dfuse_close(ft_dfuse_dev *dev)
{
	if (!dev)
		return;
	free(dev->block);
	free(dev);
}
