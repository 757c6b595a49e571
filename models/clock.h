/* The virtual clock every model reads time from.
 *
 * Models never read the host's clock: they ask an ft_clock, so the same model runs with
 * datasheet timings in real time (flashtwin-emu --timing real), collapses every duration to zero
 * (--timing instant, benchmarks), or stands still until a test advances it (manual), which is
 * how tests watch BSY and QW stay set for the length of an operation.
 *
 * A clock is owned by whoever creates it and may be shared by several models of one board. It is
 * not thread-safe; a board runs its models on one thread.
 */
#ifndef FT_CLOCK_H
#define FT_CLOCK_H

#include <stdint.h>

typedef enum ft_clock_mode {
	FT_CLOCK_MANUAL,  /* time moves only through ft_clock_advance */
	FT_CLOCK_INSTANT, /* every duration is zero: operations complete at once */
	FT_CLOCK_REAL,    /* time is the host's monotonic clock since creation */
} ft_clock_mode;

typedef struct ft_clock ft_clock;

/* Returns NULL when out of memory. */
ft_clock *ft_clock_new(ft_clock_mode mode);
void ft_clock_free(ft_clock *clock);
ft_clock_mode ft_clock_mode_of(const ft_clock *clock);

/* Nanoseconds since the clock was created. */
uint64_t ft_clock_now_ns(const ft_clock *clock);

/* The deadline of an operation that takes duration_ns from now: now + duration_ns, or now in
 * instant mode. Models store the deadline and compare it with ft_clock_now_ns. */
uint64_t ft_clock_deadline_ns(const ft_clock *clock, uint64_t duration_ns);

/* Manual mode: moves time forward. Other modes: no effect. */
void ft_clock_advance(ft_clock *clock, uint64_t ns);

/* Real and manual mode: ft_clock_now_ns answers at_ns (or the time, if that is earlier: a held
 * clock is never ahead) until ft_clock_release. Whoever acts for a model after its deadline has
 * passed (a host that woke up late, a model catching up on its own steps) holds the clock at that
 * deadline while the model acts, so what the model starts then runs from the deadline, as
 * firmware polling in a tight loop would start it, and lateness does not add up over a run of
 * operations. While held, time may read earlier than it did before the hold: models compare
 * deadlines with now, and never take an interval from two readings. Holds do not nest.
 * Instant mode: no effect. */
void ft_clock_hold(ft_clock *clock, uint64_t at_ns);
void ft_clock_release(ft_clock *clock);

#endif
