/*
 * fuzz_secret_ref.c — libFuzzer harness for vault references.
 * Property: whatever parses has valid fields and formats back to exactly the
 * input text, which parses to the same reference.
 * Build and run with libFuzzer: make -C test/fuzz secret_ref
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/secret_ref.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tg_secret_ref a,
				b;
	char		buf[512],
				small[512];
	int			n;

	/* the validators accept any bytes */
	(void) tg_slug_valid((const char *) data, size);
	(void) tg_secret_name_valid((const char *) data, size);

	if (!tg_ref_parse((const char *) data, size, &a))
		return 0;
	if (!tg_slug_valid(a.slug, strlen(a.slug)) ||
		!tg_secret_name_valid(a.scope, strlen(a.scope)) ||
		!tg_secret_name_valid(a.name, strlen(a.name)) || a.version < 1)
		abort();
	n = tg_ref_format(&a, buf, sizeof(buf));
	if (n < 0 || (size_t) n != size || memcmp(buf, data, size) != 0)
		abort();
	if (!tg_ref_parse(buf, (size_t) n, &b))
		abort();
	/* the formatted length is exact: one byte less does not fit */
	if (tg_ref_format(&a, small, (size_t) n) != -1)
		abort();
	if (strcmp(a.slug, b.slug) != 0 || strcmp(a.scope, b.scope) != 0 ||
		strcmp(a.name, b.name) != 0 || a.version != b.version)
		abort();
	return 0;
}
