#include "models/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *ft_error_name(ft_error err)
{
	switch (err) {
	case FT_OK: return "ok";
	case FT_ERR_INVALID_ARG: return "invalid-argument";
	case FT_ERR_NO_MEM: return "no-memory";
	case FT_ERR_IO: return "io";
	case FT_ERR_FORMAT: return "format";
	case FT_ERR_RANGE: return "range";
	case FT_ERR_NOT_FOUND: return "not-found";
	case FT_ERR_UNSUPPORTED: return "unsupported";
	case FT_ERR_BUSY: return "busy";
	case FT_ERR_LOCKED: return "locked";
	case FT_ERR_PROTECTED: return "protected";
	case FT_ERR_TIMEOUT: return "timeout";
	case FT_ERR_PROTOCOL: return "protocol";
	case FT_ERR_DEVICE: return "device";
	case FT_ERR_REFUSED: return "refused";
	case FT_ERR_VERIFY: return "verify";
	case FT_ERR_STATE: return "state";
	case FT_ERR_OVERLAP: return "overlap";
	}
	return "unknown";
}

ft_error ft_diag_set(ft_diag *diag, ft_error code, const char *origin, const char *fmt, ...)
{
	if (!diag)
		return code;
	diag->code = code;
	snprintf(diag->origin, sizeof(diag->origin), "%s", origin ? origin : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(diag->message, sizeof(diag->message), fmt, ap);
	va_end(ap);
	return code;
}

void ft_diag_clear(ft_diag *diag)
{
	if (diag)
		memset(diag, 0, sizeof(*diag));
}
