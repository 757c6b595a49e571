#include "emu/pcap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCAP_MAGIC         0xA1B2C3D4u /* pcap-savefile(5) */
#define PCAP_VERSION_MAJOR 2
#define PCAP_VERSION_MINOR 4
#define PCAP_FILE_HEADER   24
#define PCAP_RECORD_HEADER 16
#define NS_PER_SEC         1000000000ull

/* usbmon xfer_type values (Linux drivers/usb/mon/mon_bin.c xfer_to_pipe: PIPE_ISOCHRONOUS 0,
 * PIPE_INTERRUPT 1, PIPE_CONTROL 2, PIPE_BULK 3), not the descriptor's bmAttributes order. */
static const uint8_t usbmon_xfer_type[] = {
    [FT_USB_XFER_CONTROL] = 2,
    [FT_USB_XFER_ISOCHRONOUS] = 0,
    [FT_USB_XFER_BULK] = 3,
    [FT_USB_XFER_INTERRUPT] = 1,
};

/* flag_setup / flag_data characters (Documentation/usb/usbmon.rst, mon_bin.c). */
#define FLAG_PRESENT   0
#define FLAG_NO_SETUP  '-'
#define FLAG_IN_SUBMIT '<'
#define FLAG_OUT_DONE  '>'
#define FLAG_NO_DATA   '='

struct ft_pcap {
	FILE *file;
	char path[160];
	uint64_t records;
	ft_diag error; /* code FT_OK until a write fails */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static ft_error fail(ft_pcap *pcap, ft_diag *diag)
{
	if (pcap->error.code == FT_OK)
		ft_diag_set(&pcap->error, FT_ERR_IO, pcap->path, "writing the capture: %s",
		            strerror(errno ? errno : EIO));
	return ft_pcap_error(pcap, diag);
}

static ft_error write_all(ft_pcap *pcap, const void *buf, size_t len, ft_diag *diag)
{
	errno = 0;
	if (len && fwrite(buf, 1, len, pcap->file) != len)
		return fail(pcap, diag);
	return FT_OK;
}

ft_error ft_pcap_open(const char *path, ft_pcap **out, ft_diag *diag)
{
	if (!path || !out)
		return ft_diag_set(diag, FT_ERR_INVALID_ARG, path,
		                   "ft_pcap_open: missing argument");
	*out = NULL;
	ft_pcap *pcap = calloc(1, sizeof(*pcap));
	if (!pcap)
		return ft_diag_set(diag, FT_ERR_NO_MEM, path, "capture writer");
	snprintf(pcap->path, sizeof(pcap->path), "%s", path);
	pcap->file = fopen(path, "wb");
	if (!pcap->file) {
		ft_error err = ft_diag_set(diag, FT_ERR_IO, path, "%s", strerror(errno));
		free(pcap);
		return err;
	}
	uint8_t hdr[PCAP_FILE_HEADER] = {0};
	put32(hdr, PCAP_MAGIC);
	put16(hdr + 4, PCAP_VERSION_MAJOR);
	put16(hdr + 6, PCAP_VERSION_MINOR);
	/* 8 thiszone and 12 sigfigs stay 0 */
	put32(hdr + 16, FT_PCAP_SNAPLEN);
	put32(hdr + 20, FT_PCAP_LINKTYPE_USB_LINUX_MMAPPED);
	ft_error err = write_all(pcap, hdr, sizeof(hdr), diag);
	if (err == FT_OK && fflush(pcap->file) != 0)
		err = fail(pcap, diag);
	if (err != FT_OK) {
		fclose(pcap->file);
		free(pcap);
		return err;
	}
	*out = pcap;
	return FT_OK;
}

ft_error ft_pcap_write_urb(ft_pcap *pcap, const ft_usbip_urb_event *ev, uint64_t ts_ns)
{
	if (pcap->error.code != FT_OK)
		return pcap->error.code;
	bool submit = ev->kind == FT_USBIP_URB_SUBMITTED;
	bool in = (ev->endpoint & FT_USB_DIR_IN) != 0;
	/* A submit carries OUT data, a completion IN data; the other way round there is none. */
	size_t data_len = ev->data ? ev->data_len : 0;
	size_t cap = data_len;
	if (cap > FT_PCAP_SNAPLEN - FT_PCAP_USBMON_HEADER_SIZE)
		cap = FT_PCAP_SNAPLEN - FT_PCAP_USBMON_HEADER_SIZE;
	uint32_t length;
	char flag_data;
	if (submit) {
		length = ev->length;
		flag_data = in ? FLAG_IN_SUBMIT : (cap ? FLAG_PRESENT : FLAG_NO_DATA);
	} else {
		/* OUT completions: the server moves a whole OUT buffer or fails it */
		length = in ? (uint32_t)data_len : (ev->status == 0 ? ev->length : 0);
		flag_data = in ? (cap ? FLAG_PRESENT : FLAG_NO_DATA) : FLAG_OUT_DONE;
	}
	bool has_setup = submit && ev->setup && ev->type == FT_USB_XFER_CONTROL;

	uint8_t rec[PCAP_RECORD_HEADER + FT_PCAP_USBMON_HEADER_SIZE] = {0};
	uint64_t sec = ts_ns / NS_PER_SEC;
	uint32_t usec = (uint32_t)(ts_ns % NS_PER_SEC / 1000u);
	put32(rec, (uint32_t)sec);
	put32(rec + 4, usec);
	put32(rec + 8, (uint32_t)(FT_PCAP_USBMON_HEADER_SIZE + cap));
	put32(rec + 12, (uint32_t)(FT_PCAP_USBMON_HEADER_SIZE + data_len));
	uint8_t *m = rec + PCAP_RECORD_HEADER;
	put64(m, ev->seqnum);
	m[8] = submit ? 'S' : 'C';
	m[9] = (size_t)ev->type < sizeof(usbmon_xfer_type) ? usbmon_xfer_type[ev->type] : 2;
	m[10] = ev->endpoint;
	m[11] = (uint8_t)ev->devnum;
	put16(m + 12, (uint16_t)ev->busnum);
	m[14] = has_setup ? FLAG_PRESENT : FLAG_NO_SETUP;
	m[15] = (uint8_t)flag_data;
	put64(m + 16, sec);
	put32(m + 24, usec);
	put32(m + 28, (uint32_t)ev->status);
	put32(m + 32, length);
	put32(m + 36, (uint32_t)cap);
	if (has_setup)
		memcpy(m + 40, ev->setup, 8);
	put32(m + 48, (uint32_t)ev->interval);
	/* 52 start_frame and 60 ndesc: isochronous only, which USB/IP URBs here never are */
	put32(m + 56, ev->transfer_flags);

	ft_error err = write_all(pcap, rec, sizeof(rec), NULL);
	if (err == FT_OK)
		err = write_all(pcap, ev->data, cap, NULL);
	if (err == FT_OK && fflush(pcap->file) != 0)
		err = fail(pcap, NULL);
	if (err == FT_OK)
		pcap->records++;
	return err;
}

void ft_pcap_usbip_observer(void *ctx, const ft_usbip_urb_event *event)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	ft_pcap_write_urb(ctx, event, (uint64_t)now.tv_sec * NS_PER_SEC + (uint64_t)now.tv_nsec);
}

ft_error ft_pcap_error(const ft_pcap *pcap, ft_diag *diag)
{
	if (pcap->error.code != FT_OK && diag)
		*diag = pcap->error;
	return pcap->error.code;
}

uint64_t ft_pcap_records(const ft_pcap *pcap)
{
	return pcap->records;
}

ft_error ft_pcap_close(ft_pcap *pcap, ft_diag *diag)
{
	if (!pcap)
		return FT_OK;
	ft_error err = ft_pcap_error(pcap, diag);
	if (fclose(pcap->file) != 0 && err == FT_OK)
		err = ft_diag_set(diag, FT_ERR_IO, pcap->path, "closing the capture: %s",
		                  strerror(errno));
	free(pcap);
	return err;
}
