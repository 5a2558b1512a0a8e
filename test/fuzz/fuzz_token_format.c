/*
 * fuzz_token_format.c — libFuzzer harness for core/token_format.
 * Properties: whatever parses as a token re-makes to the same text; the
 * scanner finds every valid token it is given, never reports a range
 * outside the text, and a checksum-verified match parses.
 * Build and run with libFuzzer: make -C test/fuzz token_format
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/token_format.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const tg_token_spec specs[] = {
	{"tgses", 0, 32},
	{"tgenr", 16, 32},
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *) data;
	uint8_t		id[TG_TOKEN_PART_MAX],
				secret[TG_TOKEN_PART_MAX];
	char		buf[TG_TOKEN_TEXT_MAX];
	size_t		k,
				from = 0,
				start,
				len,
				which;

	for (k = 0; k < sizeof(specs) / sizeof(specs[0]); k++)
	{
		if (tg_token_parse(&specs[k], text, size, id, secret) != TG_TOKEN_OK)
			continue;
		if (tg_token_make(&specs[k], id, secret, buf, sizeof(buf)) != (int) size ||
			memcmp(buf, text, size) != 0)
			abort();
		if (!tg_token_scan(specs, 2, text, size, 0, true, &start, &len, &which) ||
			start != 0 || len != size || which != k)
			abort();
	}
	while (tg_token_scan(specs, 2, text, size, from, true, &start, &len, &which))
	{
		if (start < from || start + len > size || which >= 2 ||
			len != tg_token_len(&specs[which]))
			abort();
		/* a match has the shape and the checksum; its digits may still be out of range */
		{
			tg_token_status st = tg_token_parse(&specs[which], text + start, len, id, secret);

			if (st != TG_TOKEN_OK && st != TG_TOKEN_MALFORMED)
				abort();
		}
		from = start + len;
	}
	return 0;
}
