/*
 * fuzz_b64url.c — libFuzzer harness for the strict base64url decoder.
 * Properties:
 *   - whatever decodes re-encodes to exactly the input (one text per value),
 *     and does not fit in one byte less;
 *   - the input, encoded as bytes, decodes back to itself.
 * Build and run with libFuzzer: make -C test/fuzz b64url
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t    *bin = malloc(size + 1);
	char	   *text = malloc(tg_b64url_encoded_len(size));
	long		n;

	if (bin == NULL || text == NULL)
		abort();

	n = tg_b64url_decode((const char *) data, size, bin, size);
	if (n >= 0)
	{
		if ((size_t) n > size)
			abort();
		tg_b64url_encode(bin, (size_t) n, text);
		if (strlen(text) != size || memcmp(text, data, size) != 0)
			abort();
		if (n > 0 && tg_b64url_decode((const char *) data, size, bin, (size_t) n - 1) != -1)
			abort();
	}
	else if (n != -1)
		abort();

	tg_b64url_encode(data, size, text);
	n = tg_b64url_decode(text, strlen(text), bin, size);
	if (n != (long) size || memcmp(bin, data, size) != 0)
		abort();

	free(bin);
	free(text);
	return 0;
}
