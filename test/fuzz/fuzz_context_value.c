/*
 * fuzz_context_value.c — libFuzzer harness for the context value parser.
 * Property: whatever parses re-serializes to a value that parses to the same context.
 * Build and run with libFuzzer: make -C test/fuzz context_value
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/context_value.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tg_context_value a,
				b;
	char		buf[TG_CTX_TEXT_MAX];
	int			n;

	if (!tg_ctx_parse((const char *) data, size, &a))
		return 0;
	n = tg_ctx_format(&a, buf, sizeof(buf));
	if (n < 0)
		abort();
	if (!tg_ctx_parse(buf, (size_t) n, &b))
		abort();
	if (memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	return 0;
}
