/* A target on the debug port for people and for programs: the connection, the part and what
 * identified it, the core's state and the read protection (info in full, flash in short). */
#include "programmer/cli/cli.h"

#include <string.h>

/* "DBGMCU_IDCODE 0x20036450 (rev V), 2048 KB flash" and its flash-size note. */
static void identity_text(const ft_swd_info *info, char *buf, size_t len)
{
	if (!info->idcode) {
		snprintf(buf, len, "no DBGMCU_IDCODE read");
		return;
	}
	snprintf(buf, len, "DBGMCU_IDCODE 0x%08X (rev %c), %u KB flash%s", info->idcode,
	         info->revision, info->flash_size_kb,
	         info->flash_size_assumed ? " (assumed: the flash-size register reads erased)"
	                                  : "");
}

void ft_cli_print_swd(FILE *out, const ft_cli_swd *s, bool full)
{
	const ft_swd_info *info = ft_swd_get_info(s->swd);
	char identity[160];
	identity_text(info, identity, sizeof(identity));
	fprintf(out, "%-10s%s (GDB remote protocol)\n", "device", info->connection);
	if (full) {
		const ft_gdb_info *g = ft_swd_gdb_info(s->swd);
		fprintf(out, "%-10sPacketSize %zu, %s, register numbers from %s\n", "server",
		        g->packet_size, g->no_ack ? "no-ack mode" : "acknowledged packets",
		        g->has_tdesc ? "the target description" : "GDB's m-profile defaults");
	}
	fprintf(out, "%-10s%s (id 0x%03X), %s: %s\n", "part", info->part->name, info->part->dev_id,
	        s->options.expect ? "as given; the target agrees" : "identified", identity);
	if (info->dhcsr_valid)
		fprintf(out, "%-10shalted at 0x%08X (DHCSR 0x%08X)\n", "core", info->pc,
		        info->dhcsr);
	else
		fprintf(out, "%-10shalted at 0x%08X (the server does not show DHCSR)\n", "core",
		        info->pc);
	if (info->has_flash)
		fprintf(out, "%-10sRDP 0x%02X: level %u%s (FLASH_OPTSR_CUR 0x%08X)\n", "protect",
		        info->rdp, info->rdp_level,
		        info->rdp_level ? ", the debugger can neither read nor write the flash"
		                        : "",
		        info->optsr);
	else
		fprintf(out, "%-10snone: %s has no internal flash\n", "flash", info->part->name);
}

json_t *ft_cli_swd_json(const ft_cli_swd *s)
{
	const ft_swd_info *info = ft_swd_get_info(s->swd);
	const ft_gdb_info *g = ft_swd_gdb_info(s->swd);
	char dev_id[8], rev_id[8], revision[2] = {info->revision, '\0'};
	snprintf(dev_id, sizeof(dev_id), "0x%03X", info->dev_id);
	snprintf(rev_id, sizeof(rev_id), "0x%04X", info->rev_id);
	json_t *server =
	    json_pack("{s:I, s:b, s:b, s:s, s:s}", "packet_size", (json_int_t)g->packet_size,
	              "no_ack", g->no_ack, "target_description", g->has_tdesc, "architecture",
	              g->architecture, "supported", g->supported);
	json_t *rdp = info->has_flash
	                  ? json_pack("{s:o, s:i, s:o}", "rdp", ft_cli_json_hex(info->rdp), "level",
	                              (int)info->rdp_level, "optsr", ft_cli_json_hex(info->optsr))
	                  : json_null();
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:b}, s:{s:o, "
	                 "s:o}, s:b, s:o, s:o}",
	                 "connection", info->connection, "transport", "gdb", "source",
	                 s->options.expect ? "given" : "identified", "part", "name",
	                 info->part->name, "dev_id", dev_id, "rev_id", rev_id, "idcode",
	                 ft_cli_json_hex(info->idcode), "revision", revision, "core",
	                 info->part->core ? info->part->core : "", "flash_size_kb",
	                 (json_int_t)info->flash_size_kb, "flash_size_assumed",
	                 info->flash_size_assumed, "halted", "pc", ft_cli_json_hex(info->pc),
	                 "dhcsr", info->dhcsr_valid ? ft_cli_json_hex(info->dhcsr) : json_null(),
	                 "has_flash", info->has_flash, "protection", rdp, "server", server);
}
