/*
 * encoding.c — strict text encodings of binary data (pure C, libsodium).
 */
#include <string.h>

#include <sodium.h>

#include "encoding.h"

size_t
tg_b64url_encoded_len(size_t n)
{
	return sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void
tg_b64url_encode(const uint8_t *in, size_t n, char *out)
{
	sodium_bin2base64(out, tg_b64url_encoded_len(n), in, n,
					  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

long
tg_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outcap)
{
	size_t		bin_len = 0;
	const char *end = NULL;
	size_t		i;

	if (in == NULL || out == NULL)
		return -1;
	/* a single leftover character can never be valid */
	if (len % 4 == 1)
		return -1;
	/* only the url-safe alphabet (libsodium 1.0.18 misreads bytes >= 0x80) */
	for (i = 0; i < len; i++)
	{
		char		c = in[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return -1;
	}
	if (sodium_base642bin(out, outcap, in, len, NULL, &bin_len, &end,
						  sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -1;
	if (end != in + len)
		return -1;
	return (long) bin_len;
}

size_t
tg_b64_text_len(size_t n)
{
	return 4 * ((n + 2) / 3);
}

void
tg_b64_encode(const uint8_t *in, size_t n, char *out)
{
	sodium_bin2base64(out, tg_b64_text_len(n) + 1, in, n,
					  sodium_base64_VARIANT_ORIGINAL);
}

long
tg_b64_decode(const char *in, size_t len, uint8_t *out, size_t outcap)
{
	size_t		bin_len = 0;
	const char *end = NULL;
	size_t		i,
				data;

	if (in == NULL || out == NULL || len % 4 != 0)
		return -1;
	/* at most two '=' and only at the end */
	data = len;
	while (data > 0 && len - data < 2 && in[data - 1] == '=')
		data--;
	/* only the standard alphabet before the padding (see tg_b64url_decode) */
	for (i = 0; i < data; i++)
	{
		char		c = in[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return -1;
	}
	if (sodium_base642bin(out, outcap, in, len, NULL, &bin_len, &end,
						  sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	if (end != in + len)
		return -1;
	return (long) bin_len;
}

int
tg_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
tg_hex_decode(const char *in, size_t len, uint8_t *out, size_t n)
{
	size_t		bin_len = 0;
	const char *end = NULL;

	if (in == NULL || len != 2 * n)
		return false;
	if (sodium_hex2bin(out, n, in, len, NULL, &bin_len, &end) != 0)
		return false;
	return bin_len == n && end == in + len;
}
