/* util.c — small helpers shared by the core unit tests. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "unit.h"

void
unit_unhex(const char *hex, uint8_t *out, size_t n)
{
	size_t		got = 0;

	if (sodium_hex2bin(out, n, hex, strlen(hex), NULL, &got, NULL) != 0 || got != n)
	{
		fprintf(stderr, "unit: bad hex constant %.16s...\n", hex);
		abort();
	}
}

bool
unit_all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	size_t		i;

	for (i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}
