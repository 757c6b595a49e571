#include "programmer/swd/advice.h"

#include <stdio.h>

void ft_advice_init(ft_advice *a, size_t cap)
{
	a->cap = cap < FT_ADVICE_MAX_LINES ? cap : FT_ADVICE_MAX_LINES;
	a->count = 0;
}

void ft_advice_clear(ft_advice *a)
{
	a->count = 0;
}

void ft_advice_add(ft_advice *a, const char *fmt, ...)
{
	if (a->count == a->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->line[a->count++], sizeof(a->line[0]), fmt, ap);
	va_end(ap);
}

size_t ft_advice_count(const ft_advice *a)
{
	return a->count;
}

const char *ft_advice_at(const ft_advice *a, size_t index)
{
	return index < a->count ? a->line[index] : NULL;
}

void ft_advice_warnv(void (*sink)(void *user, const ft_diag *warning), void *user,
                     const char *origin, ft_error code, const char *fmt, va_list ap)
{
	if (!sink)
		return;
	ft_diag w;
	char text[sizeof(w.message)];
	vsnprintf(text, sizeof(text), fmt, ap);
	ft_diag_set(&w, code, origin, "%s", text);
	sink(user, &w);
}
