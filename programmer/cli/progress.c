/* Progress of erase, download, verify and upload on stderr: a bar redrawn in place on a
 * terminal, plain lines (one per phase and per step) otherwise, so that logs stay readable; and
 * for flash --json, event objects on stdout. */
#include "programmer/cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BAR_WIDTH 30

void ft_cli_progress_init(ft_cli_progress *p)
{
	memset(p, 0, sizeof(*p));
	p->out = stderr;
	p->tty = isatty(fileno(stderr)) == 1;
	p->drawn = -1;
}

static void draw(ft_cli_progress *p)
{
	int permille = p->total ? (int)(p->done * 1000 / p->total) : 1000;
	if (permille > 1000)
		permille = 1000;
	if (permille == p->drawn && p->bar_open)
		return;
	p->drawn = permille;
	char bar[BAR_WIDTH + 1];
	int filled = permille * BAR_WIDTH / 1000;
	memset(bar, '#', (size_t)filled);
	memset(bar + filled, '.', (size_t)(BAR_WIDTH - filled));
	bar[BAR_WIDTH] = '\0';
	char done[24], total[24];
	ft_plan_format_size(p->done, done, sizeof(done));
	ft_plan_format_size(p->total, total, sizeof(total));
	fprintf(p->out, "\r%-9s [%s] %3d%%  %s / %s\033[K", p->phase, bar, permille / 10, done,
	        total);
	fflush(p->out);
	p->bar_open = true;
}

void ft_cli_event(FILE *out, const char *name, json_t *fields)
{
	json_t *o = json_pack("{s:s}", "event", name);
	if (o && fields)
		json_object_update(o, fields);
	json_decref(fields);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (text) {
		fprintf(out, "%s\n", text);
		fflush(out);
	} else {
		ft_cli_error("cannot write a JSON event (out of memory?)");
	}
	free(text);
	json_decref(o);
}

static void progress_event(ft_cli_progress *p, const char *name, const char *line)
{
	json_t *f =
	    json_pack("{s:I, s:I}", "done", (json_int_t)p->done, "total", (json_int_t)p->total);
	if (f && line)
		json_object_set_new(f, "sector", json_string(line));
	ft_cli_event(p->events, name, f);
}

/* "download" over DFU, "program" through the debug port. */
static bool writing(const ft_cli_progress *p)
{
	return p->events && p->phase &&
	       (strcmp(p->phase, "download") == 0 || strcmp(p->phase, "program") == 0);
}

static void write_event(ft_cli_progress *p)
{
	if (writing(p) && p->done / FT_CLI_EVENT_STRIDE > p->reported / FT_CLI_EVENT_STRIDE) {
		p->reported = p->done;
		progress_event(p, "write", NULL);
	}
}

void ft_cli_progress_begin(ft_cli_progress *p, const char *phase, uint64_t total, const char *what)
{
	p->phase = phase;
	p->total = total;
	p->base = 0;
	p->done = 0;
	p->drawn = -1;
	p->reported = 0;
	if (p->tty)
		draw(p);
	else
		fprintf(p->out, "%s: %s\n", phase, what);
}

void ft_cli_progress_report(ft_cli_progress *p, uint64_t done_in_step)
{
	p->done = p->base + done_in_step;
	if (p->tty && p->phase)
		draw(p);
	write_event(p);
}

void ft_cli_progress_step(ft_cli_progress *p, uint64_t bytes, const char *line)
{
	p->base += bytes;
	p->done = p->base;
	if (p->tty)
		draw(p);
	else if (line)
		fprintf(p->out, "  %s\n", line);
	if (p->events && p->phase && strcmp(p->phase, "erase") == 0)
		progress_event(p, "erase", line);
	write_event(p);
}

void ft_cli_progress_end(ft_cli_progress *p)
{
	if (writing(p) && (p->reported != p->done || !p->done)) {
		p->reported = p->done;
		progress_event(p, "write", NULL);
	}
	if (p->events && p->phase && strcmp(p->phase, "verify") == 0)
		progress_event(p, "verify", NULL);
	if (p->bar_open) {
		fputc('\n', p->out);
		p->bar_open = false;
	}
	p->phase = NULL;
}

void ft_cli_progress_interrupt(ft_cli_progress *p)
{
	if (p->bar_open) {
		fputs("\r\033[K", p->out);
		p->bar_open = false;
		p->drawn = -1;
	}
}
