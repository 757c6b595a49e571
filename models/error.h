/* flashtwin's one error enum and the structured diagnostic that travels with it.
 *
 * Library code never prints or exits: a failing call returns an ft_error and, where the caller
 * passed one, fills an ft_diag naming the input, the place in it and what is wrong. The CLIs
 * render diagnostics; nothing below them does.
 */
#ifndef FT_ERROR_H
#define FT_ERROR_H

#include <stddef.h>

typedef enum ft_error {
	FT_OK = 0,
	FT_ERR_INVALID_ARG = -1,  /* a caller passed something the contract forbids */
	FT_ERR_NO_MEM = -2,       /* an allocation failed */
	FT_ERR_IO = -3,           /* the operating system refused a read, write, open or map */
	FT_ERR_FORMAT = -4,       /* an input file or packet is malformed */
	FT_ERR_RANGE = -5,        /* an address, size or count is outside what is allowed */
	FT_ERR_NOT_FOUND = -6,    /* no such part, board, region, symbol or file */
	FT_ERR_UNSUPPORTED = -7,  /* valid, but not something this part or tool does */
	FT_ERR_BUSY = -8,         /* the device or resource is in use */
	FT_ERR_LOCKED = -9,       /* a key sequence is required or has failed */
	FT_ERR_PROTECTED = -10,   /* write, read or PCROP protection forbids it */
	FT_ERR_TIMEOUT = -11,     /* a bounded wait ran out */
	FT_ERR_PROTOCOL = -12,    /* a peer broke the protocol */
	FT_ERR_DEVICE = -13,      /* the device reported an error status */
	FT_ERR_REFUSED = -14,     /* the plan refuses the input; nothing was touched */
	FT_ERR_VERIFY = -15,      /* read-back differs from what was written */
	FT_ERR_STATE = -16,       /* the operation is not valid in the current state */
	FT_ERR_OVERLAP = -17,     /* two inputs claim the same bytes with different contents */
} ft_error;

/* Stable lower-case name of an error ("format", "no-mem"); never NULL. */
const char *ft_error_name(ft_error err);

/* What went wrong, where. origin names the input and the place in it
 * ("app.hex line 12", "app.elf PT_LOAD[1]", "usbip packet 7 byte 20"). */
typedef struct ft_diag {
	ft_error code;
	char origin[192];
	char message[320];
} ft_diag;

/* Fills diag (when not NULL) and returns code, so a failure reads `return ft_diag_set(...)`.
 * origin may be NULL. Texts longer than the fields are truncated, never overflowed. */
ft_error ft_diag_set(ft_diag *diag, ft_error code, const char *origin, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Resets diag to FT_OK with empty texts. */
void ft_diag_clear(ft_diag *diag);

#endif
