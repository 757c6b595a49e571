/* Advice: the lines a failed SWD operation leaves to explain its conclusion (register decodes,
 * the likely cause, the fix); and warnings, which go to the caller's callback as they arise. A
 * fixed-capacity list of formatted lines embedded by value in the session (ft_swd) and the loader
 * runner (ft_ldrun), each of which clears it at the start of an operation and hands its lines out
 * through its own *_advice_count / *_advice_at. Lines past the capacity are dropped; a line longer
 * than FT_ADVICE_LINE - 1 bytes is cut. No allocation, never blocks; not thread-safe (as its
 * owner). The fields are the owner's to embed, not to touch.
 */
#ifndef FT_ADVICE_H
#define FT_ADVICE_H

#include <stdarg.h>
#include <stddef.h>

#include "models/error.h"

#define FT_ADVICE_MAX_LINES 12u
#define FT_ADVICE_LINE      320u

typedef struct ft_advice {
	size_t cap;   /* lines kept, at most FT_ADVICE_MAX_LINES */
	size_t count; /* lines held */
	char line[FT_ADVICE_MAX_LINES][FT_ADVICE_LINE];
} ft_advice;

/* Empties a and sets it to keep at most cap lines (cap > FT_ADVICE_MAX_LINES is taken as
 * FT_ADVICE_MAX_LINES). */
void ft_advice_init(ft_advice *a, size_t cap);

/* Drops every line; the capacity stays. */
void ft_advice_clear(ft_advice *a);

/* Appends a printf-formatted line; does nothing when a is full. */
void ft_advice_add(ft_advice *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The number of lines held. */
size_t ft_advice_count(const ft_advice *a);

/* Line index (0-based, NUL-terminated, valid until a changes); NULL when index >= count. */
const char *ft_advice_at(const ft_advice *a, size_t index);

/* Formats a warning (code, origin, the vprintf-formatted message) and hands it to
 * sink(user, &warning); nothing when sink is NULL. The diagnostic lives for the call only. */
void ft_advice_warnv(void (*sink)(void *user, const ft_diag *warning), void *user,
                     const char *origin, ft_error code, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

#endif
