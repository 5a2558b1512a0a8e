/*
 * fuzz_otp.c — libFuzzer harness for the one-time-password module.
 * Properties:
 *   - base32: whatever decodes re-encodes (unpadded, upper case) to the input
 *     with its padding removed and letters upper-cased; the input as bytes
 *     round-trips through both encodings;
 *   - codes: a parsed code formats back to exactly the input;
 *   - URIs: built from fuzzed issuer/account (split at the first 0xff byte)
 *     the result is pure printable ASCII without raw ':' after the scheme's
 *     label separator, and its length is what was returned.
 * Build and run with libFuzzer: make -C test/fuzz otp
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/otp.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_base32(const uint8_t *data, size_t size)
{
	uint8_t    *bin = malloc(size + 1);
	char	   *text = malloc(tg_base32_encoded_len(size, true));
	size_t		data_len = size;
	long		n;
	size_t		i;

	if (bin == NULL || text == NULL)
		abort();
	n = tg_base32_decode((const char *) data, size, bin, size);
	if (n >= 0)
	{
		while (data_len > 0 && data[data_len - 1] == '=')
			data_len--;
		tg_base32_encode(bin, (size_t) n, false, text);
		if (strlen(text) != data_len)
			abort();
		for (i = 0; i < data_len; i++)
			if (text[i] != toupper(data[i]))
				abort();
		if (n > 0 && tg_base32_decode((const char *) data, size, bin, (size_t) n - 1) != -1)
			abort();
	}
	else if (n != -1)
		abort();

	tg_base32_encode(data, size, true, text);
	if (tg_base32_decode(text, strlen(text), bin, size) != (long) size || memcmp(bin, data, size) != 0)
		abort();
	tg_base32_encode(data, size, false, text);
	if (tg_base32_decode(text, strlen(text), bin, size) != (long) size || memcmp(bin, data, size) != 0)
		abort();
	free(bin);
	free(text);
}

static void
check_code(const uint8_t *data, size_t size)
{
	char		out[TG_OTP_CODE_BUF];
	uint32_t	code;
	int			digits;

	for (digits = 5; digits <= 9; digits++)
	{
		if (!tg_otp_parse_code((const char *) data, size, digits, &code))
			continue;
		if (!tg_otp_format(code, digits, out) || memcmp(out, data, size) != 0 ||
			strlen(out) != size)
			abort();
	}
}

static void
check_uri(const uint8_t *data, size_t size)
{
	static const uint8_t key[20] = "12345678901234567890";
	const uint8_t *sep = memchr(data, 0xff, size);
	size_t		ilen = sep ? (size_t) (sep - data) : size / 2;
	const char *acc = (const char *) data + ilen + (sep ? 1 : 0);
	size_t		alen = size - ilen - (sep ? 1 : 0);
	size_t		cap = 200 + 6 * size;	/* always enough */
	char	   *out = malloc(cap);
	long		n;
	size_t		i,
				colons = 0;

	if (out == NULL)
		abort();
	n = tg_otp_uri((const char *) data, ilen, acc, alen, key, sizeof(key),
				   TG_OTP_SHA1, 6, 30, out, cap);
	if (n >= 0)
	{
		if ((size_t) n != strlen(out) || strncmp(out, "otpauth://totp/", 15) != 0)
			abort();
		for (i = 0; i < (size_t) n; i++)
		{
			if (out[i] <= ' ' || out[i] > '~')
				abort();
			colons += out[i] == ':';
		}
		if (colons != 2)		/* the scheme's and the label's */
			abort();
		/* one byte less never fits */
		if (tg_otp_uri((const char *) data, ilen, acc, alen, key, sizeof(key),
					   TG_OTP_SHA1, 6, 30, out, (size_t) n) != -1)
			abort();
	}
	else if (n != -1 || (ilen > 0 && alen > 0 &&
						 memchr(data, 0, ilen) == NULL && memchr(acc, 0, alen) == NULL))
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_base32(data, size);
	check_code(data, size);
	check_uri(data, size);
	return 0;
}
