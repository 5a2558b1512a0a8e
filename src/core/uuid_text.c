/*
 * uuid_text.c — parse and format RFC 4122 textual UUIDs (pure C).
 */
#include "encoding.h"
#include "uuid_text.h"

/* Parse the canonical hyphenated form; anything else is rejected. */
bool
tg_uuid_parse(const char *text, size_t len, uint8_t out[TG_UUID_LEN])
{
	size_t		i;
	int			n = 0;

	if (text == NULL || len != TG_UUID_TEXT_LEN)
		return false;
	for (i = 0; i < len;)
	{
		int			hi,
					lo;

		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (text[i] != '-')
				return false;
			i++;
			continue;
		}
		hi = tg_hex_digit(text[i]);
		lo = tg_hex_digit(text[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[n++] = (uint8_t) ((hi << 4) | lo);
		i += 2;
	}
	return n == TG_UUID_LEN;
}

/* Format as lower-case canonical text. */
void
tg_uuid_format(const uint8_t uuid[TG_UUID_LEN], char out[TG_UUID_TEXT_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	int			i,
				o = 0;

	for (i = 0; i < TG_UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = digits[uuid[i] >> 4];
		out[o++] = digits[uuid[i] & 0x0f];
	}
	out[o] = '\0';
}
