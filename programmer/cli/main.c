/* Placeholder entry point until the CLI lands; replaced by programmer/cli. */
#include <stdio.h>
int main(void)
{
	fputs("flashtwin: not built yet\n", stderr);
	return 2;
}
