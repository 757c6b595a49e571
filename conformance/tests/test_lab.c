/* The lab (ci/lab/README.md): unmodified USB host software in a Linux guest, reaching every
 * emulated H7 board through the kernel's vhci-hcd, sees what a real ST system bootloader shows.
 *
 * The suite's init runs ci/lab/lab.sh once on the build tree this program belongs to
 * (BUILD/tests/<prog> runs `ci/lab/lab.sh BUILD`, from the top of the source tree): one guest
 * boot per board, every client run in it one after the other. Each test then reads what the
 * guest recorded in BUILD/lab/<board>/ (steps.txt, one log per step, the guest's kernel log, the
 * files uploaded, the conformance runs with flashtwin over libusb and with dfu-util in the guest
 * and with flashtwin over usbip:// on this machine) and checks it against the part table, the
 * reference manual, and across clients.
 * FT_LAB_REUSE=1 skips the run and checks the results already in BUILD/lab. */
#include "models/board.h"
#include "models/parts.h"
#include "models/tests/ft_test.h"

#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BOARDS 16

/* RM0433 §4.9.8 (and RM0455, RM0468): FLASH_OPTSR_CUR RDP[7:0] at bits 15:8, 0xAA = level 0, the
 * factory value. The option-byte alternate starts at OPTSR_CUR. */
#define OPTSR_RDP_SHIFT 8
#define RDP_LEVEL_0     0xAAu

/* dfu-util 0.11 (dfu.c, dfuse.c): its text for DFU 1.1 §6.1.2 bStatus 0x01 (errTARGET) in
 * state 10 (dfuERROR), and its messages around a DfuSe download. */
#define DFU_UTIL_ERRTARGET                                                                         \
	"DFU state(10) = dfuERROR, status(1) = File is not targeted for use by this device"
#define DFU_UTIL_SET_ADDRESS_FAILED "SET_ADDRESS not correctly executed"
#define DFU_UTIL_DOWNLOADED         "File downloaded successfully"
#define DFU_UTIL_LEAVE_GET_STATUS   "Error during download get_status"

/* Linux vhci_hcd logs this at KERN_ERR on every reset of a full-speed device (vhci_hcd.c
 * vhci_hub_control, GetPortStatus: only high and low speed have a case); the USB/IP maintainer
 * calls it a bug: "resetting a full-speed device is not an error". Every DFU ROM is full speed. */
#define VHCI_FULL_SPEED_NOISE "vhci_hcd: vhci_device speed not set"

typedef struct lab_board {
	char name[64];
	const ft_part *part;
	char dir[PATH_MAX + 80]; /* BUILD/lab/<name> */
} lab_board;

static struct {
	size_t count;
	lab_board boards[MAX_BOARDS];
} lab;

/* CU_assertImplementation with a printf-style message, so a failure names its board. */
static void check(bool ok, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void check(bool ok, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	CU_assertImplementation(ok, line, msg, __FILE__, "", CU_FALSE);
}
#define CHECK(cond, ...) check((cond), __LINE__, __VA_ARGS__)

/* The whole of dir/name, NUL-terminated, from malloc; NULL when it cannot be read. */
static char *slurp(const lab_board *b, const char *name, size_t *len)
{
	char path[sizeof(b->dir) + 64];
	snprintf(path, sizeof(path), "%s/%s", b->dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t used = 0, size = 0;
	for (;;) {
		if (size - used < 4096) {
			size = size ? size * 2 : 65536;
			char *grown = realloc(buf, size + 1);
			if (!grown)
				break;
			buf = grown;
		}
		size_t n = fread(buf + used, 1, size - used, f);
		used += n;
		if (n == 0)
			break;
	}
	fclose(f);
	if (buf) {
		buf[used] = '\0';
		if (len)
			*len = used;
	}
	return buf;
}

/* The exit status steps.txt records for a step, or -1 when the step did not run. */
static int step_status(const lab_board *b, const char *step)
{
	char *steps = slurp(b, "steps.txt", NULL);
	int status = -1;
	for (char *save, *line = steps ? strtok_r(steps, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[64], expect[16];
		int rc;
		if (sscanf(line, "%63s %15s %d", name, expect, &rc) == 3 && strcmp(name, step) == 0)
			status = rc;
	}
	free(steps);
	return status;
}

/* Whether some line of text is KEY, white space, then a value starting with prefix (when
 * at_end is false) or ending the line with suffix (when true). lsusb -v lines look like
 * "  iProduct                2 DFU in FS Mode". */
static bool has_field(const char *text, const char *key, const char *value, bool at_end)
{
	size_t klen = strlen(key), vlen = strlen(value);
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line += !!line) {
		const char *p = line + strspn(line, " \t");
		if (strncmp(p, key, klen) != 0 || (p[klen] != ' ' && p[klen] != '\t'))
			continue;
		p += klen + strspn(p + klen, " \t");
		const char *eol = strchr(p, '\n');
		size_t rest = eol ? (size_t)(eol - p) : strlen(p);
		if (!at_end && rest >= vlen && memcmp(p, value, vlen) == 0)
			return true;
		if (at_end && rest >= vlen && memcmp(p + rest - vlen, value, vlen) == 0)
			return true;
	}
	return false;
}

/* The line of text containing needle, copied into line; false when there is none. */
static bool line_with(const char *text, const char *needle, char *line, size_t size)
{
	const char *hit = text ? strstr(text, needle) : NULL;
	if (!hit)
		return false;
	const char *start = hit;
	while (start > text && start[-1] != '\n')
		start--;
	size_t n = strcspn(start, "\n");
	snprintf(line, size, "%.*s", (int)(n < size ? n : size - 1), start);
	return true;
}

/* The boards the lab runs: boards/ *.board whose part is an STM32H7 (as ci/lab/lab.sh picks). */
static int find_boards(const char *lab_dir)
{
	DIR *d = opendir("boards");
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d)) && lab.count < MAX_BOARDS) {
		size_t n = strlen(e->d_name);
		if (n <= 6 || strcmp(e->d_name + n - 6, ".board") != 0)
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "boards/%s", e->d_name);
		ft_board board;
		if (ft_board_load(path, &board, NULL) != FT_OK)
			continue;
		const ft_part *part = ft_part_find(board.part);
		if (!part || part->family == FT_FAMILY_N6)
			continue;
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)(n - 6), e->d_name);
		lab_board *b = &lab.boards[lab.count++];
		memcpy(b->name, name, sizeof(name));
		b->part = part;
		snprintf(b->dir, sizeof(b->dir), "%s/%s", lab_dir, name);
	}
	closedir(d);
	return lab.count ? 0 : -1;
}

/* Runs the lab on this program's build tree, then lists the boards it ran. */
static int run_lab(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	for (int up = 0; up < 2; up++) { /* BUILD/tests/<prog> -> BUILD */
		char *slash = strrchr(exe, '/');
		if (!slash)
			return -1;
		*slash = '\0';
	}
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "ci/lab/lab.sh '%s'", exe);
	fflush(stdout);
	/* lab.sh fails when a step did; the tests say which. Only a lab that did not run at all
	 * fails the suite. FT_LAB_REUSE=1 checks the results of the last run instead. */
	const char *reuse = getenv("FT_LAB_REUSE");
	if (!(reuse && strcmp(reuse, "1") == 0) && system(cmd) == -1)
		return -1;
	char lab_dir[PATH_MAX + 8];
	snprintf(lab_dir, sizeof(lab_dir), "%s/lab", exe);
	return find_boards(lab_dir);
}

static void test_kernel_enumerates_every_board_without_errors(void)
{
	for (size_t i = 0; i < lab.count; i++) {
		const lab_board *b = &lab.boards[i];
		const ft_bootloader_info *bl = b->part->bootloader;
		CHECK(step_status(b, "attach") == 0, "%s: usbip attach", b->name);
		CHECK(step_status(b, "enumerate") == 0, "%s: device in sysfs", b->name);
		char *dmesg = slurp(b, "dmesg.txt", NULL);
		CHECK(dmesg != NULL, "%s: guest kernel log", b->name);
		if (!dmesg)
			continue;
		char found[96];
		snprintf(found, sizeof(found),
		         "New USB device found, idVendor=%04x, idProduct=%04x", bl->vid, bl->pid);
		CHECK(strstr(dmesg, found) != NULL, "%s: kernel log has \"%s\"", b->name, found);
		/* dmesg -r: "<N>[time] text"; levels 0..3 are emerg, alert, crit, err. Only lines
		 * from vhci-hcd's start on are the USB path under test: earlier errors are the TCG
		 * guest's platform setup (a loaded host trips the 8254 timer check, for one). */
		bool usb_up = false;
		for (char *save, *line = strtok_r(dmesg, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			usb_up = usb_up || strstr(line, "vhci_hcd") != NULL;
			bool error = usb_up && line[0] == '<' && line[1] >= '0' && line[1] <= '3' &&
			             line[2] == '>';
			CHECK(!error || strstr(line, VHCI_FULL_SPEED_NOISE), "%s: kernel error: %s",
			      b->name, line);
		}
		free(dmesg);
	}
}

static void test_emulator_reports_no_sanitizer_error(void)
{
	for (size_t i = 0; i < lab.count; i++) {
		const lab_board *b = &lab.boards[i];
		char *log = slurp(b, "emu.log", NULL);
		CHECK(log != NULL, "%s: emulator log", b->name);
		CHECK(log && !strstr(log, "Sanitizer") && !strstr(log, "runtime error:"),
		      "%s: emu.log reports a sanitizer error", b->name);
		free(log);
	}
}

static void test_lsusb_shows_rom_descriptors_and_strings(void)
{
	for (size_t i = 0; i < lab.count; i++) {
		const lab_board *b = &lab.boards[i];
		const ft_bootloader_info *bl = b->part->bootloader;
		CHECK(step_status(b, "lsusb") == 0, "%s: lsusb -v exit status", b->name);
		char *out = slurp(b, "lsusb.log", NULL);
		if (!out) {
			CHECK(false, "%s: lsusb.log", b->name);
			continue;
		}
		char v[64];
		snprintf(v, sizeof(v), "0x%04x", bl->vid);
		CHECK(has_field(out, "idVendor", v, false), "%s: idVendor %s", b->name, v);
		snprintf(v, sizeof(v), "0x%04x", bl->pid);
		CHECK(has_field(out, "idProduct", v, false), "%s: idProduct %s", b->name, v);
		snprintf(v, sizeof(v), "%x.%02x", bl->bcd_device >> 8, bl->bcd_device & 0xFF);
		CHECK(has_field(out, "bcdDevice", v, false), "%s: bcdDevice %s", b->name, v);
		snprintf(v, sizeof(v), " %s", bl->manufacturer);
		CHECK(has_field(out, "iManufacturer", v, true), "%s: iManufacturer%s", b->name, v);
		snprintf(v, sizeof(v), " %s", bl->product);
		CHECK(has_field(out, "iProduct", v, true), "%s: iProduct%s", b->name, v);
		for (unsigned alt = 0; alt < bl->alt_count; alt++) {
			snprintf(v, sizeof(v), " %s", bl->alt_names[alt]);
			CHECK(has_field(out, "iInterface", v, true), "%s: alt %u iInterface%s",
			      b->name, alt, v);
		}
		snprintf(v, sizeof(v), "%u bytes", bl->transfer_size);
		CHECK(has_field(out, "wTransferSize", v, false), "%s: wTransferSize %s", b->name,
		      v);
		snprintf(v, sizeof(v), "%x.%x", bl->bcd_dfu >> 8, bl->bcd_dfu & 0xFF);
		CHECK(has_field(out, "bcdDFUVersion", v, false), "%s: bcdDFUVersion %s", b->name,
		      v);
		free(out);
	}
}

static void test_dfu_util_lists_each_alt_setting_by_its_part_table_name(void)
{
	for (size_t i = 0; i < lab.count; i++) {
		const lab_board *b = &lab.boards[i];
		const ft_bootloader_info *bl = b->part->bootloader;
		CHECK(step_status(b, "dfu-list") == 0, "%s: dfu-util -l exit status", b->name);
		char *out = slurp(b, "dfu-list.log", NULL);
		char *lsusb = slurp(b, "lsusb.log", NULL);
		if (!out || !lsusb) {
			CHECK(false, "%s: dfu-list.log and lsusb.log", b->name);
			free(out);
			free(lsusb);
			continue;
		}
		unsigned found = 0;
		for (const char *p = out; (p = strstr(p, "Found DFU: ")); p++)
			found++;
		CHECK(found == bl->alt_count, "%s: %u DFU lines, expected %u", b->name, found,
		      bl->alt_count);
		char id[64], alt[160], line[512];
		snprintf(id, sizeof(id), "Found DFU: [%04x:%04x] ver=%04x, ", bl->vid, bl->pid,
		         bl->bcd_device);
		for (unsigned a = 0; a < bl->alt_count; a++) {
			snprintf(alt, sizeof(alt), "alt=%u, name=\"%s\", serial=\"", a,
			         bl->alt_names[a]);
			bool listed = line_with(out, alt, line, sizeof(line));
			CHECK(listed, "%s: dfu-util -l lists %s", b->name, alt);
			CHECK(listed && strncmp(line, id, strlen(id)) == 0,
			      "%s: \"%s\" starts \"%s\"", b->name, line, id);
			/* The serial number dfu-util reads is the one lsusb shows as iSerial. */
			char *serial = listed ? strstr(line, "serial=\"") : NULL;
			if (serial) {
				serial += strlen("serial=\"");
				char value[64];
				snprintf(value, sizeof(value), " %.*s", (int)strcspn(serial, "\""),
				         serial);
				CHECK(has_field(lsusb, "iSerial", value, true), "%s: iSerial%s",
				      b->name, value);
			}
		}
		free(out);
		free(lsusb);
	}
}

static void test_dfu_util_download_reads_back_identical(void)
{
	for (size_t i = 0; i < lab.count; i++) {
		const lab_board *b = &lab.boards[i];
		CHECK(step_status(b, "download") == 0, "%s: dfu-util -D exit status", b->name);
		CHECK(step_status(b, "upload") == 0, "%s: dfu-util -U exit status", b->name);
		char *log = slurp(b, "download.log", NULL);
		CHECK(log && strstr(log, DFU_UTIL_DOWNLOADED), "%s: download.log says \"%s\"",
		      b->name, DFU_UTIL_DOWNLOADED);
		free(log);
		size_t image_len = 0, upload_len = 0;
		char *image = slurp(b, "image.bin", &image_len);
		char *upload = slurp(b, "upload.bin", &upload_len);
		CHECK(image && image_len == 1u << 20, "%s: image.bin is 1 MiB", b->name);
		CHECK(upload && upload_len == image_len,
		      "%s: upload.bin is %zu bytes, expected %zu", b->name, upload_len, image_len);
		if (image && upload && upload_len == image_len)
			FT_ASSERT_BYTES(upload, image, image_len);
		free(image);
		free(upload);
	}
}

static void test_flashtwin_over_libusb_programs_and_reads_back(void)
{
	for (size_t i = 0; i < lab.count; i++) {
		const lab_board *b = &lab.boards[i];
		const ft_bootloader_info *bl = b->part->bootloader;
		CHECK(step_status(b, "ft-info") == 0, "%s: flashtwin info exit status", b->name);
		char *info = slurp(b, "ft-info.log", NULL);
		char usb[64];
		snprintf(usb, sizeof(usb), "usb %04x:%04x", bl->vid, bl->pid);
		CHECK(info && has_field(info, "device", usb, false),
		      "%s: flashtwin info: device %s", b->name, usb);
		CHECK(info && has_field(info, "part", b->part->name, false),
		      "%s: flashtwin info: part %s", b->name, b->part->name);
		CHECK(info && strstr(info, "the descriptor agrees"),
		      "%s: flashtwin info: descriptor agrees with the board's part", b->name);
		free(info);
		CHECK(step_status(b, "ft-flash") == 0, "%s: flashtwin flash exit status", b->name);
		CHECK(step_status(b, "ft-read") == 0, "%s: flashtwin read exit status", b->name);
		size_t image_len = 0, read_len = 0;
		char *image = slurp(b, "image2.bin", &image_len);
		char *back = slurp(b, "ft-read.bin", &read_len);
		CHECK(image && image_len == 1u << 20, "%s: image2.bin is 1 MiB", b->name);
		CHECK(back && read_len == image_len, "%s: ft-read.bin is %zu bytes, expected %zu",
		      b->name, read_len, image_len);
		if (image && back && read_len == image_len)
			FT_ASSERT_BYTES(back, image, image_len);
		free(image);
		free(back);
	}
}

static void test_option_bytes_upload_through_alt_1(void)
{
	for (size_t i = 0; i < lab.count; i++) {
		const lab_board *b = &lab.boards[i];
		const ft_bootloader_info *bl = b->part->bootloader;
		CHECK(step_status(b, "option-bytes") == 0, "%s: dfu-util -a 1 -U exit status",
		      b->name);
		size_t len = 0;
		unsigned char *ob = (unsigned char *)slurp(b, "option-bytes.bin", &len);
		CHECK(ob && len == bl->option_bytes_size, "%s: %zu option bytes, expected %u",
		      b->name, len, bl->option_bytes_size);
		if (ob && len >= 4) {
			uint32_t optsr = ob[0] | ob[1] << 8 | ob[2] << 16 | (uint32_t)ob[3] << 24;
			FT_ASSERT_HEX((optsr >> OPTSR_RDP_SHIFT) & 0xFF, RDP_LEVEL_0);
		}
		free(ob);
	}
}

static void test_ram_address_refused_with_errtarget(void)
{
	for (size_t i = 0; i < lab.count; i++) {
		const lab_board *b = &lab.boards[i];
		CHECK(step_status(b, "ram-reject") > 0, "%s: dfu-util exit status for RAM_D2",
		      b->name);
		char *log = slurp(b, "ram-reject.log", NULL);
		CHECK(log && strstr(log, DFU_UTIL_SET_ADDRESS_FAILED),
		      "%s: ram-reject.log says \"%s\"", b->name, DFU_UTIL_SET_ADDRESS_FAILED);
		free(log);
		/* The next dfu-util run finds the device in dfuERROR/errTARGET and clears it. */
		CHECK(step_status(b, "error-state") == 0, "%s: dfu-util after the refusal",
		      b->name);
		log = slurp(b, "error-state.log", NULL);
		CHECK(log && strstr(log, DFU_UTIL_ERRTARGET), "%s: error-state.log says \"%s\"",
		      b->name, DFU_UTIL_ERRTARGET);
		CHECK(log && strstr(log, "Clearing status"), "%s: dfu-util clears the error",
		      b->name);
		free(log);
	}
}

/* The entry of scenario id in a run document, NULL when absent. */
static const json_t *run_entry(const json_t *run, const char *id)
{
	size_t i;
	json_t *sc;
	json_array_foreach(json_object_get(run, "scenarios"), i, sc)
	{
		const char *sid = json_string_value(json_object_get(sc, "id"));
		if (sid && strcmp(sid, id) == 0)
			return sc;
	}
	return NULL;
}

static json_t *load_json(const lab_board *b, const char *name)
{
	char path[sizeof(b->dir) + 64];
	snprintf(path, sizeof(path), "%s/%s", b->dir, name);
	return json_load_file(path, 0, NULL);
}

/* The last scenario of the guest's dfu-util run, D13, leaves DFU with dfu-util's ":leave". */
static void test_leave_takes_device_off_the_bus(void)
{
	for (size_t i = 0; i < lab.count; i++) {
		const lab_board *b = &lab.boards[i];
		const ft_bootloader_info *bl = b->part->bootloader;
		json_t *run = load_json(b, "conform-dfu-util.json");
		const json_t *d13 = run_entry(run, "D13");
		const char *outcome = json_string_value(json_object_get(d13, "outcome"));
		CHECK(outcome && strcmp(outcome, "passed") == 0, "%s: D13 with dfu-util: %s (%s)",
		      b->name, outcome ? outcome : "absent",
		      json_string_value(json_object_get(d13, "reason")));
		const json_t *answers = json_object_get(d13, "answers");
		const char *said =
		    json_string_value(json_object_get(answers, "dfu_util.leave.message"));
		CHECK(said && strcmp(said, DFU_UTIL_LEAVE_GET_STATUS) == 0,
		      "%s: dfu-util's last word on leave: \"%s\", expected \"%s\"", b->name,
		      said ? said : "", DFU_UTIL_LEAVE_GET_STATUS);
		CHECK(json_is_true(json_object_get(answers, "dfu.leave.gone")),
		      "%s: dfu-util -l still lists the board after leave", b->name);
		json_decref(run);
		char id[16];
		snprintf(id, sizeof(id), "%04x:%04x", bl->vid, bl->pid);
		char *after = slurp(b, "lsusb-after-leave.log", NULL);
		CHECK(after && !strstr(after, id), "%s: %s still on the bus after leave", b->name,
		      id);
		free(after);
	}
}

/* Every scenario with a dfu-util version passes with dfu-util as the client, and agrees with
 * flashtwin over usbip:// on the outcome and on every device fact both clients observed: the
 * diff report's rows for the two clients show no difference. */
static void test_dfu_util_client_agrees_with_flashtwin_over_usbip(void)
{
	static const char *const ids[] = {"D01", "D03", "D13", "D30", "O30"};
	for (size_t i = 0; i < lab.count; i++) {
		const lab_board *b = &lab.boards[i];
		json_t *dfu_util = load_json(b, "conform-dfu-util.json");
		json_t *usbip = load_json(b, "conform-usbip.json");
		CHECK(dfu_util && usbip, "%s: conform-dfu-util.json and conform-usbip.json",
		      b->name);
		for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
			const json_t *d = run_entry(dfu_util, ids[k]),
			             *f = run_entry(usbip, ids[k]);
			const char *client = json_string_value(json_object_get(d, "client"));
			CHECK(client && strcmp(client, "dfu-util") == 0, "%s: %s client %s",
			      b->name, ids[k], client ? client : "none");
			client = json_string_value(json_object_get(f, "client"));
			CHECK(client && strcmp(client, "flashtwin-usbip") == 0, "%s: %s client %s",
			      b->name, ids[k], client ? client : "none");
			const char *od = json_string_value(json_object_get(d, "outcome"));
			const char *of = json_string_value(json_object_get(f, "outcome"));
			CHECK(od && strcmp(od, "passed") == 0, "%s: %s with dfu-util: %s (%s)",
			      b->name, ids[k], od ? od : "absent",
			      json_string_value(json_object_get(d, "reason")));
			CHECK(od && of && strcmp(od, of) == 0,
			      "%s: %s %s with dfu-util, %s with flashtwin over usbip://", b->name,
			      ids[k], od ? od : "absent", of ? of : "absent");
			const char *key;
			json_t *v;
			json_object_foreach(json_object_get(d, "answers"), key, v)
			{
				const json_t *w =
				    json_object_get(json_object_get(f, "answers"), key);
				if (!w || strncmp(key, "time.", 5) == 0)
					continue;
				char *tv = json_dumps(v, JSON_ENCODE_ANY),
				     *tw = json_dumps(w, JSON_ENCODE_ANY);
				CHECK(json_equal(v, w),
				      "%s: %s %s: %s with dfu-util, %s over usbip://", b->name,
				      ids[k], key, tv ? tv : "?", tw ? tw : "?");
				free(tv);
				free(tw);
			}
		}
		char *report = slurp(b, "conform-diff.md", NULL);
		CHECK(report && strstr(report, "| flashtwin-usbip / dfu-util |"),
		      "%s: conform-diff.md has the dfu-util rows", b->name);
		free(report);
		json_decref(dfu_util);
		json_decref(usbip);
	}
}

/* Scenarios whose outcome may differ between the two conformance runs for a reason other than
 * the client: the usbip:// run gives every scenario a fresh emulator, the libusb run in the
 * guest shares one device with the clients before it and with the scenarios before it, as a run
 * on a real board does. */
static const struct {
	const char *id, *why;
} state_dependent[] = {
    {"D32", "expects erased flash; on one device, earlier clients and scenarios programmed it"},
};

static bool state_dependent_scenario(const char *id)
{
	for (size_t i = 0; i < sizeof(state_dependent) / sizeof(state_dependent[0]); i++)
		if (strcmp(id, state_dependent[i].id) == 0)
			return true;
	return false;
}

/* "passed" or "failed" for a scenario that ran in the run, else NULL. */
static const char *ran_outcome(json_t *run, const char *id)
{
	const char *outcome = json_string_value(json_object_get(run_entry(run, id), "outcome"));
	if (outcome && (strcmp(outcome, "passed") == 0 || strcmp(outcome, "failed") == 0))
		return outcome;
	return NULL;
}

static void test_conformance_outcomes_agree_between_usbip_and_libusb(void)
{
	for (size_t i = 0; i < lab.count; i++) {
		const lab_board *b = &lab.boards[i];
		json_t *usb = load_json(b, "conform-usb.json");
		json_t *usbip = load_json(b, "conform-usbip.json");
		CHECK(usb != NULL, "%s: conform-usb.json (flashtwin-conform over libusb)", b->name);
		CHECK(usbip != NULL, "%s: conform-usbip.json (over usbip://)", b->name);
		char *report = slurp(b, "conform-diff.md", NULL);
		CHECK(report != NULL, "%s: conform-diff.md", b->name);
		free(report);
		unsigned compared = 0;
		size_t k;
		json_t *sc;
		json_array_foreach(json_object_get(usb, "scenarios"), k, sc)
		{
			const char *id = json_string_value(json_object_get(sc, "id"));
			const char *a = id ? ran_outcome(usbip, id) : NULL;
			const char *c = id ? ran_outcome(usb, id) : NULL;
			if (!a || !c || state_dependent_scenario(id))
				continue;
			compared++;
			CHECK(strcmp(a, c) == 0, "%s: %s %s over usbip://, %s over libusb", b->name,
			      id, a, c);
		}
		CHECK(compared > 0, "%s: no scenario ran over both clients", b->name);
		json_decref(usb);
		json_decref(usbip);
	}
}

static CU_TestInfo tests[] = {
    {"kernel_enumerates_every_board_without_errors",
     test_kernel_enumerates_every_board_without_errors},
    {"emulator_reports_no_sanitizer_error", test_emulator_reports_no_sanitizer_error},
    {"lsusb_shows_rom_descriptors_and_strings", test_lsusb_shows_rom_descriptors_and_strings},
    {"dfu_util_lists_each_alt_setting_by_its_part_table_name",
     test_dfu_util_lists_each_alt_setting_by_its_part_table_name},
    {"dfu_util_download_reads_back_identical", test_dfu_util_download_reads_back_identical},
    {"flashtwin_over_libusb_programs_and_reads_back",
     test_flashtwin_over_libusb_programs_and_reads_back},
    {"option_bytes_upload_through_alt_1", test_option_bytes_upload_through_alt_1},
    {"ram_address_refused_with_errtarget", test_ram_address_refused_with_errtarget},
    {"conformance_outcomes_agree_between_usbip_and_libusb",
     test_conformance_outcomes_agree_between_usbip_and_libusb},
    {"dfu_util_client_agrees_with_flashtwin_over_usbip",
     test_dfu_util_client_agrees_with_flashtwin_over_usbip},
    {"leave_takes_device_off_the_bus", test_leave_takes_device_off_the_bus},
    CU_TEST_INFO_NULL,
};

int main(int argc, char **argv)
{
	CU_SuiteInfo suite = {"lab", run_lab, NULL, NULL, NULL, tests};
	return ft_test_main(&suite, argc, argv);
}
