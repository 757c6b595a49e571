#include "models/clock.h"

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct ft_clock {
	ft_clock_mode mode;
	uint64_t manual_ns;
	uint64_t origin_ns; /* host monotonic time at creation, real mode */
	bool held;          /* now is held_ns (ft_clock_hold) */
	uint64_t held_ns;
};

static uint64_t host_monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

ft_clock *ft_clock_new(ft_clock_mode mode)
{
	ft_clock *clock = calloc(1, sizeof(*clock));
	if (!clock)
		return NULL;
	clock->mode = mode;
	clock->origin_ns = host_monotonic_ns();
	return clock;
}

void ft_clock_free(ft_clock *clock)
{
	free(clock);
}

ft_clock_mode ft_clock_mode_of(const ft_clock *clock)
{
	return clock->mode;
}

uint64_t ft_clock_now_ns(const ft_clock *clock)
{
	if (clock->held)
		return clock->held_ns;
	if (clock->mode == FT_CLOCK_REAL)
		return host_monotonic_ns() - clock->origin_ns;
	return clock->manual_ns;
}

uint64_t ft_clock_deadline_ns(const ft_clock *clock, uint64_t duration_ns)
{
	uint64_t now = ft_clock_now_ns(clock);
	return clock->mode == FT_CLOCK_INSTANT ? now : now + duration_ns;
}

void ft_clock_advance(ft_clock *clock, uint64_t ns)
{
	if (clock->mode == FT_CLOCK_MANUAL)
		clock->manual_ns += ns;
}

void ft_clock_hold(ft_clock *clock, uint64_t at_ns)
{
	if (clock->mode == FT_CLOCK_INSTANT)
		return;
	clock->held = false;
	uint64_t now = ft_clock_now_ns(clock);
	clock->held_ns = at_ns < now ? at_ns : now;
	clock->held = true;
}

void ft_clock_release(ft_clock *clock)
{
	clock->held = false;
}
