/* flashtwin-emu: runs one emulated board. With BOOT0 = 1 (or --boot dfu) it serves the ST system
 * DFU bootloader over USB/IP until SIGINT/SIGTERM or until the board leaves DFU. docs/emulator.md
 * is the user's description; keep both in step. */
#include "emu/board_runtime.h"
#include "emu/cli/emu_cli.h"
#include "emu/cli/switches.h"
#include "emu/cmsis_dap_usb.h"
#include "emu/dap_bridge.h"
#include "emu/dap_gdb_target.h"
#include "emu/pcap.h"
#include "emu/qemu_run.h"
#include "emu/usbip/usbip_server.h"
#include "models/dfu_bootloader.h"
#include "models/usbip_proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_HOST "127.0.0.1"
#define BUSID        "1-1"
#define HOST_CAP     64 /* the HOST of a HOST:PORT option */
/* The longest the loop sleeps without looking at the DFU model and the stop flag. */
#define MAX_WAIT_NS 100000000
/* How long QEMU gets to open its gdbstub, and to shut down after SIGTERM. */
#define QEMU_WAIT_MS 10000

typedef enum log_level { LOG_ERROR, LOG_WARNING, LOG_INFO, LOG_DEBUG } log_level;
static const char *const log_names[] = {"error", "warning", "info", "debug"};

/* BOOT_DEV: STM32N6 development boot (BOOT1 high), the boot ROM waits for a debugger. */
typedef enum boot_mode { BOOT_PINS, BOOT_DFU, BOOT_FLASH, BOOT_DEV } boot_mode;
typedef enum leave_action { LEAVE_EXIT, LEAVE_DFU, LEAVE_BOOT } leave_action;

typedef struct options {
	const char *board;
	const char *state;
	char host[HOST_CAP];
	unsigned port;
	boot_mode boot;
	ft_clock_mode timing;
	int pacing; /* --usb-pacing: an ft_usbip_pacing, or -1 for the default of the timing */
	const char *pcap;
	log_level level;
	leave_action leave;      /* --on-leave */
	char gdb_host[HOST_CAP]; /* --gdb: empty when absent */
	unsigned gdb_port;
	char bitbang_host[HOST_CAP]; /* --remote-bitbang: empty when absent; QEMU's gdbstub is then
	                          private */
	unsigned bitbang_port;
	char
	    dap_host[HOST_CAP]; /* --cmsis-dap: empty when absent; QEMU's gdbstub is then private */
	unsigned dap_port;
	ft_emu_switches sw; /* --fault, --quirk, --option (emu/cli/switches.h) */
} options;

/* Signals arrive in a thread of their own (sigwait), which sets stop and wakes the server: no
 * state is shared with a signal handler. */
typedef struct signals {
	sigset_t set;
	pthread_t thread;
	atomic_bool stop;
	atomic_bool quit; /* the main thread is done: the signal thread returns */
	atomic_int signo;
	pthread_mutex_t lock; /* guards server */
	ft_usbip_server *server;
} signals;

typedef struct emu {
	options opt;
	ft_board_runtime *rt;
	ft_dfu_bootloader *bl;
	ft_usb_device dev;
	ft_usbip_server *server;
	uint16_t port;
	ft_pcap *pcap;
	bool pcap_failed;
	signals *sig;
	char state_path[PATH_MAX];
	char board_path[FT_BOARD_PATH_MAX];
	ft_board board;
} emu;

/* ---- logging: "flashtwin-emu: LEVEL: BOARD: message" on stderr ---- */

static void vlog(const emu *e, log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void vlog(const emu *e, log_level level, const char *fmt, va_list ap)
{
	if (level > e->opt.level)
		return;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "flashtwin-emu: %s: %s: %s\n", log_names[level],
	        e->rt ? ft_board_runtime_name(e->rt) : e->opt.board, msg);
}

static void elog(const emu *e, log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void elog(const emu *e, log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(e, level, fmt, ap);
	va_end(ap);
}

static void log_diag(const emu *e, log_level level, const char *what, const ft_diag *d)
{
	elog(e, level, "%s: %s%s%s (%s)", what, d->origin, d->origin[0] ? ": " : "", d->message,
	     ft_error_name(d->code));
}

static void usbip_log(void *ctx, ft_usbip_log_level level, const char *session, const char *message)
{
	(void)session; /* the board's name, which every line carries anyway */
	static const log_level map[] = {[FT_USBIP_LOG_ERROR] = LOG_ERROR,
	                                [FT_USBIP_LOG_WARNING] = LOG_WARNING,
	                                [FT_USBIP_LOG_INFO] = LOG_INFO,
	                                [FT_USBIP_LOG_DEBUG] = LOG_DEBUG};
	elog(ctx, (size_t)level < sizeof(map) / sizeof(map[0]) ? map[level] : LOG_DEBUG,
	     "usbip: %s", message);
}

static void dfu_trace(void *ctx, const ft_dfu_bootloader_trace *r)
{
	const emu *e = ctx;
	if (e->opt.level < LOG_DEBUG)
		return;
	const uint8_t *s = r->setup;
	/* bState/bStatus as DFU 1.1 §6.1.2 numbers them */
	elog(e, LOG_DEBUG,
	     "control %02x %02x %04x %04x %04x: %s, %zu bytes; state %u status 0x%02x -> "
	     "state %u status 0x%02x",
	     s[0], s[1], s[2] | s[3] << 8, s[4] | s[5] << 8, s[6] | s[7] << 8,
	     ft_usb_status_name(r->result), r->actual, r->state_before, r->status_before,
	     r->state_after, r->status_after);
}

/* ---- options ---- */

static void usage(FILE *out)
{
	fputs("usage: flashtwin-emu --board BOARD --state DIR [options]\n"
	      "\n"
	      "Runs one emulated board. With BOOT0 = 1 (the board file's boot0, or --boot dfu) it\n"
	      "serves the ST system DFU bootloader over USB/IP until SIGINT or SIGTERM, or until\n"
	      "the board leaves DFU; the state (flash, option bytes, external NOR) lives in DIR.\n"
	      "\n"
	      "  --board BOARD        a board name (BOARD.board in $FLASHTWIN_BOARDS, ./boards,\n"
	      "                       or the boards/ directory beside or above this program) or a\n"
	      "                       path to a .board file\n"
	      "  --state DIR          the board's state directory, created when missing (its\n"
	      "                       parent must exist); one flashtwin-emu at a time may use it\n"
	      "  --listen HOST:PORT   where the USB/IP server listens (default 127.0.0.1:3240);\n"
	      "                       numeric addresses only, [ADDR]:PORT for IPv6; port 0 picks\n"
	      "                       a free port, which the ready line gives\n"
	      "  --boot dfu|flash|dev dfu: the system bootloader whatever the board's BOOT0;\n"
	      "                       flash: run the flash contents in QEMU (`make qemu`), its\n"
	      "                       UART on stdout; dev: STM32N6 development boot (BOOT1 high),\n"
	      "                       the boot ROM waits for a debugger (use with --gdb).\n"
	      "                       Default: the board file's boot0\n"
	      "  --gdb HOST:PORT      run the flash contents in QEMU halted at reset, with QEMU's\n"
	      "                       gdbstub on HOST:PORT (port 0 picks a free port, which the\n"
	      "                       ready line gives); implies --boot flash unless --boot dev\n"
	      "  --remote-bitbang HOST:PORT\n"
	      "                       as --gdb, with QEMU's gdbstub on a private loopback port,\n"
	      "                       behind a debug-port bridge serving OpenOCD's remote_bitbang\n"
	      "                       protocol on HOST:PORT (an IPv4 address; port 0 picks a free\n"
	      "                       one, which the ready line gives): OpenOCD 0.12 drives the\n"
	      "                       STM32H7's JTAG-DP through it (docs/gdb.md)\n"
	      "  --cmsis-dap HOST:PORT\n"
	      "                       as --remote-bitbang, the debug port behind a CMSIS-DAP v1\n"
	      "                       probe (USB HID) exported over USB/IP on HOST:PORT, bus id\n"
	      "                       1-1: pyOCD 0.13 in a USB host (ci/lab) drives it "
	      "(docs/gdb.md)\n"
	      "  --timing real|instant  flash operations take datasheet time on the host's clock\n"
	      "                       (default), or complete at once\n"
	      "  --usb-pacing full-speed|off  full-speed: every USB transfer takes the time it\n"
	      "                       takes on a full-speed bus (default with --timing real);\n"
	      "                       off: none (default with --timing instant)\n"
	      "  --on-leave boot|exit|dfu  when the board leaves DFU: reset into the programmed\n"
	      "                       firmware in QEMU as with --boot flash (default), exit 0, or\n"
	      "                       reset and serve DFU again as with BOOT0 = 1\n"
	      "  --pcap FILE          write the USB traffic as a usbmon pcap capture (Wireshark,\n"
	      "                       tshark: -d usb.product==0x0483df11,usbdfu shows DFU)\n"
	      "  --log-level LEVEL    error, warning, info (default) or debug, on stderr\n"
	      "  --fault NAME[=VALUE] inject a fault (repeatable). DFU bootloader:\n"
	      "                       disconnect-at-block=N, corrupt-block=N, corrupt-double,\n"
	      "                       no-readback-verify, workarea-crash, partial-word=pad|skip;\n"
	      "                       QEMU machine: drop-word=ADDR, cut-word=ADDR,\n"
	      "                       watchdog-reset-ms=N, core-sleeps\n"
	      "  --quirk NAME=on|off  force a ROM quirk of the part table on or off\n"
	      "  --option NAME=VALUE  option bytes at power-on: rdp=BYTE (0xAA level 0),\n"
	      "                       wpsn1|wpsn2=MASK, prar1|prar2=VALUE, nor-sr=BYTE (the\n"
	      "                       external NOR's status register 1), nor-addr=3|4 (the\n"
	      "                       W25Q256JV's power-up address mode, SR3 ADP) (repeatable)\n"
	      "  --help, --version\n"
	      "\n"
	      "When the board is ready, one line on stdout says so:\n"
	      "  flashtwin-emu: BOARD (PART rev R) ready at usbip://HOST:PORT/1-1 (state DIR)\n"
	      "or, running the flash contents in QEMU (the UART's output follows on stdout):\n"
	      "  flashtwin-emu: BOARD (PART) running flash in QEMU MACHINE[, gdb at HOST:PORT]\n"
	      "  [, remote_bitbang at HOST:PORT][, CMSIS-DAP at usbip://HOST:PORT/1-1]\n"
	      "  (state DIR)\n"
	      "Exit status: 0 stopped or left DFU, 1 the board could not run (state directory\n"
	      "in use or of another board, socket, I/O), 2 bad usage, board or boot mode.\n",
	      out);
}

static bool parse_address(const char *arg, char *out_host, size_t host_cap, unsigned *out_port)
{
	const char *colon;
	const char *host = arg;
	size_t host_len;
	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');
		if (!close || close[1] != ':')
			return false;
		host = arg + 1;
		host_len = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(arg, ':');
		if (!colon)
			return false;
		host_len = (size_t)(colon - arg);
	}
	if (host_len == 0 || host_len >= host_cap)
		return false;
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port > 65535)
		return false;
	memcpy(out_host, host, host_len);
	out_host[host_len] = '\0';
	*out_port = (unsigned)port;
	return true;
}

static bool pick(const char *arg, const char *const *words, size_t count, int *out)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(arg, words[i]) == 0) {
			*out = (int)i;
			return true;
		}
	}
	return false;
}

/* Returns -1 to go on, else the exit status. */
static int parse_options(int argc, char **argv, options *opt)
{
	enum {
		OPT_BOARD = 256,
		OPT_STATE,
		OPT_LISTEN,
		OPT_BOOT,
		OPT_TIMING,
		OPT_PCAP,
		OPT_LEVEL,
		OPT_LEAVE,
		OPT_HELP,
		OPT_VERSION,
		OPT_FAULT,
		OPT_QUIRK,
		OPT_OPTION,
		OPT_PACING,
		OPT_GDB,
		OPT_BITBANG,
		OPT_DAP
	};
	static const struct option longopts[] = {
	    {"board", required_argument, NULL, OPT_BOARD},
	    {"state", required_argument, NULL, OPT_STATE},
	    {"listen", required_argument, NULL, OPT_LISTEN},
	    {"boot", required_argument, NULL, OPT_BOOT},
	    {"timing", required_argument, NULL, OPT_TIMING},
	    {"pcap", required_argument, NULL, OPT_PCAP},
	    {"log-level", required_argument, NULL, OPT_LEVEL},
	    {"on-leave", required_argument, NULL, OPT_LEAVE},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {"fault", required_argument, NULL, OPT_FAULT},
	    {"quirk", required_argument, NULL, OPT_QUIRK},
	    {"option", required_argument, NULL, OPT_OPTION},
	    {"usb-pacing", required_argument, NULL, OPT_PACING},
	    {"gdb", required_argument, NULL, OPT_GDB},
	    {"remote-bitbang", required_argument, NULL, OPT_BITBANG},
	    {"cmsis-dap", required_argument, NULL, OPT_DAP},
	    {NULL, 0, NULL, 0},
	};
	static const char *const boots[] = {
	    [BOOT_DFU - 1] = "dfu", [BOOT_FLASH - 1] = "flash", [BOOT_DEV - 1] = "dev"};
	static const char *const timings[] = {"real", "instant"};
	static const char *const leaves[] = {
	    [LEAVE_EXIT] = "exit", [LEAVE_DFU] = "dfu", [LEAVE_BOOT] = "boot"};
	static const char *const pacings[] = {
	    [FT_USBIP_PACING_NONE] = "off", [FT_USBIP_PACING_FULL_SPEED] = "full-speed"};
	*opt = (options){.port = FT_USBIP_DEFAULT_PORT,
	                 .timing = FT_CLOCK_REAL,
	                 .pacing = -1,
	                 .level = LOG_INFO,
	                 /* A real board leaving DFU resets into what was just programmed. */
	                 .leave = LEAVE_BOOT};
	snprintf(opt->host, sizeof(opt->host), "%s", DEFAULT_HOST);
	/* the HOST:PORT options and where each one's value goes */
	typedef struct address_option {
		int opt;
		const char *name;
		char *host;
		unsigned *port;
		bool ipv4; /* the server behind it listens on IPv4 only */
	} address_option;
	const address_option addresses[] = {
	    {OPT_LISTEN, "listen", opt->host, &opt->port, false},
	    {OPT_GDB, "gdb", opt->gdb_host, &opt->gdb_port, false},
	    {OPT_BITBANG, "remote-bitbang", opt->bitbang_host, &opt->bitbang_port, true},
	    {OPT_DAP, "cmsis-dap", opt->dap_host, &opt->dap_port, true},
	};
	opterr = 0;
	int c, choice;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_BOARD: opt->board = optarg; break;
		case OPT_STATE: opt->state = optarg; break;
		case OPT_PCAP: opt->pcap = optarg; break;
		case OPT_LISTEN:
		case OPT_GDB:
		case OPT_BITBANG:
		case OPT_DAP: {
			const address_option *a = addresses;
			while (a->opt != c)
				a++;
			if (!parse_address(optarg, a->host, HOST_CAP, a->port)) {
				fprintf(stderr,
				        "flashtwin-emu: --%s '%s': expected HOST:PORT or "
				        "[ADDR]:PORT with a port from 0 to 65535\n",
				        a->name, optarg);
				return FT_EMU_EXIT_USAGE;
			}
			struct in_addr v4;
			if (a->ipv4 && inet_pton(AF_INET, a->host, &v4) != 1) {
				fprintf(stderr,
				        "flashtwin-emu: --%s '%s': expected a numeric IPv4 address "
				        "(127.0.0.1:0 picks a free port on loopback)\n",
				        a->name, optarg);
				return FT_EMU_EXIT_USAGE;
			}
			break;
		}
		case OPT_BOOT:
			if (!pick(optarg, boots, 3, &choice))
				goto bad_value;
			opt->boot = (boot_mode)(choice + 1);
			break;
		case OPT_TIMING:
			if (!pick(optarg, timings, 2, &choice))
				goto bad_value;
			opt->timing = choice == 0 ? FT_CLOCK_REAL : FT_CLOCK_INSTANT;
			break;
		case OPT_LEVEL:
			if (!pick(optarg, log_names, 4, &choice))
				goto bad_value;
			opt->level = (log_level)choice;
			break;
		case OPT_LEAVE:
			if (!pick(optarg, leaves, 3, &choice))
				goto bad_value;
			opt->leave = (leave_action)choice;
			break;
		case OPT_PACING:
			if (!pick(optarg, pacings, 2, &choice))
				goto bad_value;
			opt->pacing = choice;
			break;
		case OPT_FAULT:
		case OPT_QUIRK:
		case OPT_OPTION: {
			char why[256];
			bool ok = c == OPT_FAULT
			              ? ft_emu_switch_fault(&opt->sw, optarg, why, sizeof(why))
			          : c == OPT_QUIRK
			              ? ft_emu_switch_quirk(&opt->sw, optarg, why, sizeof(why))
			              : ft_emu_switch_option(&opt->sw, optarg, why, sizeof(why));
			if (!ok) {
				fprintf(stderr, "flashtwin-emu: %s\n", why);
				return FT_EMU_EXIT_USAGE;
			}
			break;
		}
		case OPT_HELP: usage(stdout); return FT_EMU_EXIT_OK;
		case OPT_VERSION:
			printf("flashtwin-emu %s\n", FT_EMU_VERSION);
			return FT_EMU_EXIT_OK;
		default:
			fprintf(stderr, "flashtwin-emu: %s: unknown option or missing value\n",
			        argv[optind - 1]);
			usage(stderr);
			return FT_EMU_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "flashtwin-emu: unexpected argument '%s'\n", argv[optind]);
		return FT_EMU_EXIT_USAGE;
	}
	/* USB bus time is part of real time; instant time has none. */
	if (opt->pacing < 0)
		opt->pacing = opt->timing == FT_CLOCK_REAL ? FT_USBIP_PACING_FULL_SPEED
		                                           : FT_USBIP_PACING_NONE;
	if (opt->bitbang_host[0] && opt->gdb_host[0]) {
		fputs("flashtwin-emu: --remote-bitbang serves the debug port itself; it does not "
		      "go with "
		      "--gdb\n",
		      stderr);
		return FT_EMU_EXIT_USAGE;
	}
	if (opt->dap_host[0] && (opt->gdb_host[0] || opt->bitbang_host[0])) {
		fputs(
		    "flashtwin-emu: --cmsis-dap serves the debug port itself; it does not go with "
		    "--gdb or --remote-bitbang\n",
		    stderr);
		return FT_EMU_EXIT_USAGE;
	}
	if (opt->bitbang_host[0] || opt->dap_host[0]) /* the debug port's own GDB server */
		snprintf(opt->gdb_host, sizeof(opt->gdb_host), "%s", DEFAULT_HOST);
	if (opt->gdb_host[0] && opt->boot == BOOT_DFU) {
		fputs("flashtwin-emu: --gdb and --remote-bitbang run the flash contents in QEMU; "
		      "they do not go with --boot dfu\n",
		      stderr);
		return FT_EMU_EXIT_USAGE;
	}
	if (opt->gdb_host[0] && opt->boot != BOOT_DEV)
		opt->boot = BOOT_FLASH;
	if (!opt->board || !opt->state) {
		fputs("flashtwin-emu: --board and --state are required (--help explains)\n",
		      stderr);
		return FT_EMU_EXIT_USAGE;
	}
	return -1;
bad_value:
	fprintf(stderr, "flashtwin-emu: --%s: unknown value '%s' (--help lists them)\n",
	        longopts[c - OPT_BOARD].name, optarg);
	return FT_EMU_EXIT_USAGE;
}

/* ---- signals ---- */

static void *signal_thread(void *arg)
{
	signals *s = arg;
	for (;;) {
		int signo = 0;
		if (sigwait(&s->set, &signo) != 0 || atomic_load(&s->quit))
			return NULL;
		atomic_store(&s->signo, signo);
		atomic_store(&s->stop, true);
		pthread_mutex_lock(&s->lock);
		if (s->server)
			ft_usbip_server_wake(s->server);
		pthread_mutex_unlock(&s->lock);
	}
}

static bool signals_start(signals *s)
{
	sigemptyset(&s->set);
	sigaddset(&s->set, SIGINT);
	sigaddset(&s->set, SIGTERM);
	atomic_init(&s->stop, false);
	atomic_init(&s->quit, false);
	atomic_init(&s->signo, 0);
	s->server = NULL;
	if (pthread_mutex_init(&s->lock, NULL) != 0)
		return false;
	if (pthread_sigmask(SIG_BLOCK, &s->set, NULL) != 0 ||
	    pthread_create(&s->thread, NULL, signal_thread, s) != 0) {
		pthread_mutex_destroy(&s->lock);
		return false;
	}
	return true;
}

static void signals_stop(signals *s)
{
	atomic_store(&s->quit, true);
	pthread_kill(s->thread, SIGTERM); /* blocked everywhere: sigwait takes it */
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->lock);
}

static void set_wake_target(signals *s, ft_usbip_server *server)
{
	pthread_mutex_lock(&s->lock);
	s->server = server;
	pthread_mutex_unlock(&s->lock);
}

/* ---- the board ---- */

static void stop_dfu(emu *e)
{
	set_wake_target(e->sig, NULL);
	ft_usbip_server_free(e->server);
	e->server = NULL;
	ft_dfu_bootloader_free(e->bl);
	e->bl = NULL;
}

/* Creates the bootloader and its USB/IP server on e->opt.host and port. */
static int start_dfu(emu *e, uint16_t port)
{
	const ft_part *part = ft_board_runtime_part(e->rt);
	ft_dfu_bootloader_config cfg = {.part = part,
	                                .rev_id = ft_board_runtime_rev_id(e->rt),
	                                .flash = ft_board_runtime_flash(e->rt),
	                                .clock = ft_board_runtime_clock(e->rt),
	                                .trace = dfu_trace,
	                                .trace_user = e};
	ft_board_runtime_uid(e->rt, cfg.uid);
	ft_emu_switches_apply_dfu(&e->opt.sw, &cfg);
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = ft_dfu_bootloader_new(&cfg, &e->bl, &diag);
	if (err != FT_OK) {
		log_diag(e, LOG_ERROR, "DFU bootloader", &diag);
		return FT_EMU_EXIT_FAILED;
	}
	e->dev = ft_dfu_bootloader_usb_device(e->bl);
	ft_usbip_server_config scfg = {.address = e->opt.host,
	                               .port = port,
	                               .busid = BUSID,
	                               .session = ft_board_runtime_name(e->rt),
	                               .log = usbip_log,
	                               .log_ctx = e,
	                               .observer = e->pcap ? ft_pcap_usbip_observer : NULL,
	                               .observer_ctx = e->pcap,
	                               .pacing = (ft_usbip_pacing)e->opt.pacing,
	                               .clock = ft_board_runtime_clock(e->rt)};
	err = ft_usbip_server_new(&scfg, &e->dev, &e->server, &diag);
	if (err != FT_OK) {
		log_diag(e, LOG_ERROR, "USB/IP server", &diag);
		return err == FT_ERR_INVALID_ARG ? FT_EMU_EXIT_USAGE : FT_EMU_EXIT_FAILED;
	}
	e->port = ft_usbip_server_port(e->server);
	set_wake_target(e->sig, e->server);
	return FT_EMU_EXIT_OK;
}

static void sync_state(emu *e)
{
	ft_diag diag;
	ft_diag_clear(&diag);
	if (ft_board_runtime_sync(e->rt, &diag) != FT_OK)
		log_diag(e, LOG_ERROR, "saving the state", &diag);
}

static int close_board(emu *e, int status);
static int run_qemu(emu *e);

/* The board left DFU: off the bus, state flushed. Returns -1 when it serves DFU again, else the
 * exit status. */
static int left_dfu(emu *e, ft_dfu_bootloader_exit why, uint32_t jump_addr)
{
	/* Let the last answers (the leave's GETSTATUS) reach the client, then drop off the bus. */
	ft_usbip_server_run_once(e->server, 0, NULL);
	stop_dfu(e);
	ft_flash_h7 *flash = ft_board_runtime_flash(e->rt);
	char where[64] = "";
	if (why == FT_DFU_BOOTLOADER_EXIT_JUMP) {
		snprintf(where, sizeof(where), ", would run the code at 0x%08x", jump_addr);
	} else if (why == FT_DFU_BOOTLOADER_EXIT_RESET) {
		/* a system reset loads the new option bytes; the pins pick the boot address */
		ft_flash_h7_reset(flash);
		bool boot0 = e->opt.boot == BOOT_DFU ||
		             (e->opt.boot == BOOT_PINS && ft_board_runtime_boot0(e->rt));
		snprintf(where, sizeof(where), ", would boot from 0x%08x",
		         ft_flash_h7_boot_address(flash, boot0, false));
	}
	sync_state(e);
	if (e->opt.leave == LEAVE_EXIT) {
		printf("flashtwin-emu: %s left DFU (%s)%s\n", ft_board_runtime_name(e->rt),
		       ft_dfu_bootloader_exit_name(why), where);
		fflush(stdout);
		return FT_EMU_EXIT_OK;
	}
	if (e->opt.leave == LEAVE_BOOT) {
		elog(e, LOG_INFO, "left DFU (%s); resetting into the flash contents in QEMU",
		     ft_dfu_bootloader_exit_name(why));
		/* the state allows one owner: QEMU's machine opens it next */
		int status = close_board(e, FT_EMU_EXIT_OK);
		return status != FT_EMU_EXIT_OK ? status : run_qemu(e);
	}
	elog(e, LOG_INFO, "left DFU (%s)%s; resetting into DFU again (--on-leave dfu)",
	     ft_dfu_bootloader_exit_name(why), where);
	if (why != FT_DFU_BOOTLOADER_EXIT_RESET)
		ft_flash_h7_reset(flash);
	int status = start_dfu(e, e->port);
	return status == FT_EMU_EXIT_OK ? -1 : status;
}

/* To the ns: the ROM model programs flash word after flash word (100 us each on H743). */
static int64_t wait_ns(emu *e)
{
	uint64_t next = ft_dfu_bootloader_poll(e->bl);
	if (next == UINT64_MAX)
		return MAX_WAIT_NS;
	uint64_t now = ft_clock_now_ns(ft_board_runtime_clock(e->rt));
	if (next <= now)
		return 0;
	return next - now < MAX_WAIT_NS ? (int64_t)(next - now) : MAX_WAIT_NS;
}

static int serve(emu *e)
{
	for (;;) {
		if (atomic_load(&e->sig->stop)) {
			int signo = atomic_load(&e->sig->signo);
			elog(e, LOG_INFO, "%s: stopping", signo == SIGINT ? "SIGINT" : "SIGTERM");
			return FT_EMU_EXIT_OK;
		}
		ft_diag diag;
		ft_diag_clear(&diag);
		if (ft_usbip_server_run_once_ns(e->server, wait_ns(e), &diag) != FT_OK) {
			log_diag(e, LOG_ERROR, "USB/IP server", &diag);
			return FT_EMU_EXIT_FAILED;
		}
		if (e->pcap && !e->pcap_failed && ft_pcap_error(e->pcap, &diag) != FT_OK) {
			log_diag(e, LOG_ERROR, "capture stopped", &diag);
			e->pcap_failed = true;
		}
		uint32_t jump = 0;
		ft_dfu_bootloader_exit why = ft_dfu_bootloader_exit_reason(e->bl, &jump);
		if (why != FT_DFU_BOOTLOADER_EXIT_NONE) {
			int status = left_dfu(e, why, jump);
			if (status >= 0)
				return status;
		}
	}
}

/* Checks what the board can do before its state is touched. */
static int check_boot(const options *opt, const ft_board *board)
{
	const ft_part *part = ft_part_find(board->part);
	if (!part) {
		fprintf(stderr,
		        "flashtwin-emu: %s: unknown part '%s' ('flashtwin parts' lists them)\n",
		        opt->board, board->part);
		return FT_EMU_EXIT_USAGE;
	}
	if (opt->boot == BOOT_DEV && part->family != FT_FAMILY_N6) {
		fprintf(stderr,
		        "flashtwin-emu: %s: --boot dev is the STM32N6 development boot (BOOT1); %s "
		        "has no BOOT1 pin\n",
		        opt->board, part->name);
		return FT_EMU_EXIT_USAGE;
	}
	bool dfu = opt->boot == BOOT_DFU || (opt->boot == BOOT_PINS && board->boot0);
	if (dfu && !part->bootloader->has_usb_dfu) {
		fprintf(stderr,
		        "flashtwin-emu: %s: %s has no USB DFU system bootloader in flashtwin's ROM "
		        "model (%s), so it cannot boot into DFU\n",
		        opt->board, part->name, part->bootloader->source);
		return FT_EMU_EXIT_USAGE;
	}
	if ((!dfu || opt->leave == LEAVE_BOOT) && !ft_qemu_machine_for_part(part)) {
		fprintf(stderr,
		        "flashtwin-emu: %s: no QEMU machine models %s, so it cannot run the flash "
		        "contents; --boot dfu serves the system bootloader\n",
		        opt->board, part->name);
		return FT_EMU_EXIT_USAGE;
	}
	return FT_EMU_EXIT_OK;
}

static int open_board(emu *e, const char *board_path)
{
	ft_board_runtime_config cfg = {
	    .board_path = board_path, .state_dir = e->opt.state, .clock_mode = e->opt.timing};
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_error err = ft_board_runtime_open(&cfg, &e->rt, &diag);
	if (err != FT_OK) {
		fprintf(stderr, "flashtwin-emu: %s%s%s\n", diag.origin, diag.origin[0] ? ": " : "",
		        diag.message);
		bool input = err == FT_ERR_INVALID_ARG || err == FT_ERR_NOT_FOUND ||
		             err == FT_ERR_UNSUPPORTED || err == FT_ERR_RANGE;
		return input ? FT_EMU_EXIT_USAGE : FT_EMU_EXIT_FAILED;
	}
	if (!realpath(e->opt.state, e->state_path))
		snprintf(e->state_path, sizeof(e->state_path), "%s", e->opt.state);
	elog(e, LOG_INFO, "%s state in %s", ft_board_runtime_state_is_new(e->rt) ? "new" : "saved",
	     e->state_path);
	return FT_EMU_EXIT_OK;
}

static void print_ready(const emu *e)
{
	const ft_part *part = ft_board_runtime_part(e->rt);
	bool v6 = strchr(e->opt.host, ':') != NULL;
	printf("flashtwin-emu: %s (%s rev %c) ready at usbip://%s%s%s:%u/%s (state %s)\n",
	       ft_board_runtime_name(e->rt), part->name, ft_board_runtime_revision(e->rt),
	       v6 ? "[" : "", e->opt.host, v6 ? "]" : "", e->port, BUSID, e->state_path);
	fflush(stdout);
}

/* ---- the flash contents in QEMU (--boot flash, --gdb, --on-leave boot) ---- */

/* A port the kernel has free on host now (QEMU binds it a moment later), or 0. */
static unsigned free_port(const char *host)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		len = sizeof(*v6);
	} else {
		return 0;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	unsigned port = 0;
	if (bind(fd, (struct sockaddr *)&ss, len) == 0 &&
	    getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		port = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
	close(fd);
	return port;
}

/* True when some socket listens on TCP port (the kernel's tables: Linux). */
static bool port_listening(unsigned port)
{
	static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	bool found = false;
	for (size_t i = 0; i < 2 && !found; i++) {
		FILE *f = fopen(tables[i], "r");
		if (!f)
			continue;
		char line[256];
		while (!found && fgets(line, sizeof(line), f)) {
			unsigned local, st;
			/* "  0: 0100007F:1F90 00000000:0000 0A ...": state 0A is LISTEN */
			if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &local,
			           &st) == 2 &&
			    local == port && st == 0x0A)
				found = true;
		}
		fclose(f);
	}
	return found;
}

/* The board's name: its file's name without ".board". */
static void board_name(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t len = strlen(base);
	if (len > 6 && strcmp(base + len - 6, ".board") == 0)
		len -= 6;
	snprintf(out, cap, "%.*s", (int)len, base);
}

static void bridge_log(void *user, const char *message)
{
	elog(user, LOG_INFO, "remote_bitbang: %s", message);
}

/* --cmsis-dap: the probe on the board's debug port, exported over USB/IP. */
typedef struct dap_probe {
	ft_dap_gdb_target *target;
	ft_cmsis_dap_usb *probe;
	ft_usb_device dev;
	ft_usbip_server *server;
	unsigned refused; /* refusals already logged */
} dap_probe;

static void dap_probe_close(dap_probe *p)
{
	ft_usbip_server_free(p->server);
	ft_cmsis_dap_usb_free(p->probe);
	ft_dap_gdb_target_close(p->target);
	*p = (dap_probe){0};
}

static ft_error dap_probe_open(emu *e, const char *gdb_url, const char *name, dap_probe *p,
                               ft_diag *diag)
{
	*p = (dap_probe){0};
	ft_error err = ft_dap_gdb_target_open(gdb_url, &p->target, diag);
	if (err != FT_OK)
		return err;
	ft_dap_target target = ft_dap_gdb_target_get(p->target);
	p->probe = ft_cmsis_dap_usb_new(&target, name);
	if (!p->probe) {
		dap_probe_close(p);
		return ft_diag_set(diag, FT_ERR_NO_MEM, "--cmsis-dap", "out of memory");
	}
	p->dev = ft_cmsis_dap_usb_device(p->probe);
	ft_usbip_server_config scfg = {.address = e->opt.dap_host,
	                               .port = (uint16_t)e->opt.dap_port,
	                               .busid = BUSID,
	                               .session = name,
	                               .log = usbip_log,
	                               .log_ctx = e};
	err = ft_usbip_server_new(&scfg, &p->dev, &p->server, diag);
	if (err != FT_OK)
		dap_probe_close(p);
	return err;
}

/* Serves the probe's USB/IP clients for up to timeout_ms; refused commands are logged. */
static ft_error dap_probe_serve(emu *e, dap_probe *p, int timeout_ms, ft_diag *diag)
{
	ft_error err = ft_usbip_server_run_once(p->server, timeout_ms, diag);
	ft_diag last;
	unsigned refused = ft_cmsis_dap_usb_refused(p->probe, &last);
	if (refused != p->refused) {
		p->refused = refused;
		log_diag(e, LOG_WARNING, "CMSIS-DAP command refused", &last);
	}
	return err;
}

/* Runs the machine of the board's part on the board's state in console mode (the UART on
 * stdout), BOOT0 = 0, until QEMU exits or SIGINT/SIGTERM (QEMU then shuts down cleanly). */
static int run_qemu(emu *e)
{
	const ft_part *part = ft_part_find(e->board.part);
	ft_emu_qemu_props props;
	ft_emu_switches_qemu(&e->opt.sw, &props);
	ft_qemu_config cfg = {.machine = ft_qemu_machine_for_part(part),
	                      .properties = props.list,
	                      .board_path = e->board_path,
	                      .state_dir = e->opt.state,
	                      .boot0 = 0,
	                      .dev_boot = e->opt.boot == BOOT_DEV,
	                      .instant_timing = e->opt.timing == FT_CLOCK_INSTANT,
	                      .semihosting = true, /* firmware may end the run (the test's do) */
	                      .mode = FT_QEMU_CONSOLE};
	char name[FT_BOARD_PATH_MAX];
	board_name(e->board_path, name, sizeof(name));
	char gdb[96] = "";
	unsigned port = e->opt.gdb_port;
	if (e->opt.gdb_host[0]) {
		if (port == 0 && (port = free_port(e->opt.gdb_host)) == 0) {
			fprintf(stderr, "flashtwin-emu: %s: --gdb %s: no free port found\n", name,
			        e->opt.gdb_host);
			return FT_EMU_EXIT_FAILED;
		}
		bool v6 = strchr(e->opt.gdb_host, ':') != NULL;
		snprintf(gdb, sizeof(gdb), "%s%s%s:%u", v6 ? "[" : "", e->opt.gdb_host,
		         v6 ? "]" : "", port);
		cfg.gdb = gdb;
	}
	/* the machine creates the state as flashtwin-emu does; made here so the ready line can
	 * give its full path */
	if (mkdir(e->opt.state, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "flashtwin-emu: %s: %s\n", e->opt.state, strerror(errno));
		return FT_EMU_EXIT_FAILED;
	}
	if (!realpath(e->opt.state, e->state_path))
		snprintf(e->state_path, sizeof(e->state_path), "%s", e->opt.state);
	ft_qemu *q = NULL;
	ft_diag diag;
	ft_diag_clear(&diag);
	if (ft_qemu_start(&cfg, &q, &diag) != FT_OK) {
		fprintf(stderr, "flashtwin-emu: %s: QEMU: %s%s%s\n", name, diag.origin,
		        diag.origin[0] ? ": " : "", diag.message);
		return FT_EMU_EXIT_FAILED;
	}
	int status = -1;
	/* the debugger may connect once the ready line is out: wait for the gdbstub */
	for (int waited = 0; cfg.gdb && !port_listening(port); waited += 20) {
		if (waited >= QEMU_WAIT_MS || ft_qemu_wait(q, 0, &status, &diag) == FT_OK) {
			fprintf(stderr, "flashtwin-emu: %s: QEMU did not open its gdbstub on %s\n",
			        name, gdb);
			ft_qemu_free(q);
			return FT_EMU_EXIT_FAILED;
		}
		nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
	}
	ft_dap_bridge *bridge = NULL;
	dap_probe probe = {0};
	char swd[160] = "";
	if (e->opt.bitbang_host[0]) {
		char url[128];
		snprintf(url, sizeof(url), "gdb://%s", gdb);
		ft_dap_bridge_config bc = {.host = e->opt.bitbang_host,
		                           .port = e->opt.bitbang_port,
		                           .gdb = url,
		                           .log = bridge_log,
		                           .user = e};
		if (ft_dap_bridge_open(&bc, &bridge, &diag) != FT_OK) {
			fprintf(stderr, "flashtwin-emu: %s: --remote-bitbang: %s%s%s\n", name,
			        diag.origin, diag.origin[0] ? ": " : "", diag.message);
			ft_qemu_free(q);
			return FT_EMU_EXIT_FAILED;
		}
		snprintf(swd, sizeof(swd), ", remote_bitbang at %s:%u", e->opt.bitbang_host,
		         ft_dap_bridge_port(bridge));
	}
	if (e->opt.dap_host[0]) {
		char url[128];
		snprintf(url, sizeof(url), "gdb://%s", gdb);
		if (dap_probe_open(e, url, name, &probe, &diag) != FT_OK) {
			fprintf(stderr, "flashtwin-emu: %s: --cmsis-dap: %s%s%s\n", name,
			        diag.origin, diag.origin[0] ? ": " : "", diag.message);
			ft_qemu_free(q);
			return FT_EMU_EXIT_FAILED;
		}
		snprintf(swd, sizeof(swd), ", CMSIS-DAP at usbip://%s:%u/%s", e->opt.dap_host,
		         ft_usbip_server_port(probe.server), BUSID);
	}
	bool own_gdb = bridge || probe.server; /* the gdbstub is the debug port's, not shown */
	printf("flashtwin-emu: %s (%s) running flash in QEMU %s%s%s%s (state %s)\n", name,
	       part->name, cfg.machine, cfg.gdb && !own_gdb ? ", gdb at " : "", own_gdb ? "" : gdb,
	       swd, e->state_path);
	fflush(stdout);
	while (ft_qemu_wait(q, own_gdb ? 0 : 100, &status, &diag) != FT_OK) {
		if (bridge && ft_dap_bridge_serve(bridge, 20, &diag) != FT_OK) {
			log_diag(e, LOG_ERROR, "--remote-bitbang", &diag);
			break;
		}
		if (probe.server && dap_probe_serve(e, &probe, 20, &diag) != FT_OK) {
			log_diag(e, LOG_ERROR, "--cmsis-dap", &diag);
			break;
		}
		if (atomic_load(&e->sig->stop)) {
			int signo = atomic_load(&e->sig->signo);
			elog(e, LOG_INFO, "%s: stopping QEMU",
			     signo == SIGINT ? "SIGINT" : "SIGTERM");
			ft_dap_bridge_close(bridge);
			dap_probe_close(&probe);
			ft_qemu_terminate(q);
			if (ft_qemu_wait(q, QEMU_WAIT_MS, &status, &diag) != FT_OK)
				elog(e, LOG_ERROR, "QEMU still running after %d ms: killed",
				     QEMU_WAIT_MS);
			ft_qemu_free(q);
			return status == 0 || status == 128 + SIGTERM ? FT_EMU_EXIT_OK
			                                              : FT_EMU_EXIT_FAILED;
		}
	}
	ft_dap_bridge_close(bridge);
	dap_probe_close(&probe);
	if (status != 0)
		elog(e, LOG_ERROR, "QEMU exited with status %d", status);
	ft_qemu_free(q);
	return status == 0 ? FT_EMU_EXIT_OK : FT_EMU_EXIT_FAILED;
}

/* Programs the --option values into the open board's flash model. */
static int apply_options(emu *e)
{
	ft_flash_h7 *flash = ft_board_runtime_flash(e->rt);
	ft_diag diag;
	ft_diag_clear(&diag);
	ft_clock *clock = ft_board_runtime_clock(e->rt);
	ft_error err = flash ? ft_emu_switches_apply_flash(&e->opt.sw, flash, clock, &diag) : FT_OK;
	for (size_t i = 0; err == FT_OK && i < ft_board_runtime_nor_count(e->rt); i++)
		err = ft_emu_switches_apply_nor(&e->opt.sw, ft_board_runtime_nor_at(e->rt, i)->nor,
		                                clock, &diag);
	if (err != FT_OK) {
		log_diag(e, LOG_ERROR, "--option", &diag);
		return FT_EMU_EXIT_FAILED;
	}
	return FT_EMU_EXIT_OK;
}

/* --option before QEMU: the board's option bytes are programmed through the flash model and
 * the board closed again, so the machine opens its state with them in effect. */
static int program_options(emu *e)
{
	int status = open_board(e, e->board_path);
	if (status != FT_EMU_EXIT_OK)
		return status;
	status = apply_options(e);
	ft_diag diag;
	ft_diag_clear(&diag);
	if (ft_board_runtime_close(e->rt, &diag) != FT_OK) {
		log_diag(e, LOG_ERROR, "saving the state", &diag);
		status = FT_EMU_EXIT_FAILED;
	}
	e->rt = NULL;
	return status;
}

static int run(emu *e)
{
	int status =
	    ft_emu_find_board(e->opt.board, e->board_path, sizeof(e->board_path), &e->board);
	if (status == FT_EMU_EXIT_OK)
		status = check_boot(&e->opt, &e->board);
	if (status != FT_EMU_EXIT_OK)
		return status;
	if (e->opt.boot == BOOT_FLASH || e->opt.boot == BOOT_DEV ||
	    (e->opt.boot == BOOT_PINS && !e->board.boot0)) {
		status =
		    ft_emu_switches_have_options(&e->opt.sw) ? program_options(e) : FT_EMU_EXIT_OK;
		return status != FT_EMU_EXIT_OK ? status : run_qemu(e);
	}
	status = open_board(e, e->board_path);
	if (status != FT_EMU_EXIT_OK)
		return status;
	if (e->opt.pcap) {
		ft_diag diag;
		ft_diag_clear(&diag);
		if (ft_pcap_open(e->opt.pcap, &e->pcap, &diag) != FT_OK) {
			log_diag(e, LOG_ERROR, "--pcap", &diag);
			return FT_EMU_EXIT_FAILED;
		}
	}
	status = apply_options(e);
	if (status != FT_EMU_EXIT_OK)
		return status;
	/* Real time is kept to the microsecond (flash words take 100 us, a GETSTATUS 35 us of bus
	 * time): the kernel's default 50 us timer slack would stretch every wait. Best effort. */
	if (e->opt.timing == FT_CLOCK_REAL)
		(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	status = start_dfu(e, (uint16_t)e->opt.port);
	if (status != FT_EMU_EXIT_OK)
		return status;
	print_ready(e);
	return serve(e);
}

/* Frees what run() left open; returns status, or FT_EMU_EXIT_FAILED when the state or the
 * capture could not be written out. */
static int close_board(emu *e, int status)
{
	stop_dfu(e);
	ft_diag diag;
	ft_diag_clear(&diag);
	if (e->pcap) {
		if (ft_pcap_close(e->pcap, &diag) != FT_OK && !e->pcap_failed) {
			log_diag(e, LOG_ERROR, "--pcap", &diag);
			status = status ? status : FT_EMU_EXIT_FAILED;
		}
		e->pcap = NULL;
	}
	if (e->rt) {
		ft_diag_clear(&diag);
		if (ft_board_runtime_close(e->rt, &diag) != FT_OK) {
			log_diag(e, LOG_ERROR, "saving the state", &diag);
			status = status ? status : FT_EMU_EXIT_FAILED;
		}
		e->rt = NULL;
	}
	return status;
}

int main(int argc, char **argv)
{
	emu e = {0};
	int status = parse_options(argc, argv, &e.opt);
	if (status >= 0)
		return status;
	/* Bus pacing and the ROM's flash words are timed to the microsecond: without this, the
	 * kernel lets every timed wait of the loop end up to 50 us late (its default timer slack),
	 * which real timing would add to every transfer and every block. Best effort: only timing
	 * depends on it. */
	(void)prctl(PR_SET_TIMERSLACK, 1UL);
	signals sig;
	if (!signals_start(&sig)) {
		fputs("flashtwin-emu: cannot set up signal handling\n", stderr);
		return FT_EMU_EXIT_FAILED;
	}
	e.sig = &sig;
	status = close_board(&e, run(&e));
	signals_stop(&sig);
	return status;
}
