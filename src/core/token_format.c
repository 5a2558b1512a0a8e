/*
 * token_format.c — recognisable bearer tokens with a checksum (see
 * token_format.h). Pure C; the only secret-dependent work is base62
 * arithmetic over fixed lengths, without early exits.
 */
#include <string.h>
#include <sodium.h>

#include "token_format.h"

const tg_token_spec tg_token_session = {"tgses", 0, 32};

static const char tg_b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* The value of a base62 digit, or -1; without branches on the character. */
static int
b62_value(unsigned char c)
{
	int			x = c;
	int			digit = ((('0' - 1 - x) & (x - ('9' + 1))) >> 8) & 1;
	int			upper = ((('A' - 1 - x) & (x - ('Z' + 1))) >> 8) & 1;
	int			lower = ((('a' - 1 - x) & (x - ('z' + 1))) >> 8) & 1;
	int			v = -1;

	v += digit * (x - '0' + 1);
	v += upper * (x - 'A' + 10 + 1);
	v += lower * (x - 'a' + 36 + 1);
	return v;
}

static bool
is_word_char(unsigned char c)
{
	return b62_value(c) >= 0 || c == '_';
}

/* Divide the big-endian number in buf[0..n) by 62 in place; the remainder. */
static unsigned
divide62(uint8_t *buf, size_t n)
{
	unsigned	rem = 0;
	size_t		i;

	for (i = 0; i < n; i++)
	{
		unsigned	cur = (rem << 8) | buf[i];

		buf[i] = (uint8_t) (cur / 62);
		rem = cur % 62;
	}
	return rem;
}

size_t
tg_base62_len(size_t n)
{
	uint8_t		buf[TG_TOKEN_PART_MAX];
	size_t		digits = 0;
	bool		nonzero = true;

	if (n == 0 || n > TG_TOKEN_PART_MAX)
		return 0;
	memset(buf, 0xff, n);
	while (nonzero)
	{
		size_t		i;

		(void) divide62(buf, n);
		digits++;
		nonzero = false;
		for (i = 0; i < n; i++)
			nonzero |= buf[i] != 0;
	}
	return digits;
}

/* Write the fixed-width base62 of in[0..n) to out (tg_base62_len(n) digits, no NUL). */
static void
b62_encode(const uint8_t *in, size_t n, char *out)
{
	uint8_t		buf[TG_TOKEN_PART_MAX];
	size_t		digits = tg_base62_len(n),
				i;

	memcpy(buf, in, n);
	for (i = digits; i > 0; i--)
		out[i - 1] = tg_b62[divide62(buf, n)];
	memset(buf, 0, sizeof(buf));
}

/* Decode exactly tg_base62_len(n) digits into out[0..n); false on a bad digit or overflow. */
static bool
b62_decode(const char *in, uint8_t *out, size_t n)
{
	size_t		digits = tg_base62_len(n),
				i,
				j;
	int			bad = 0;

	memset(out, 0, n);
	for (i = 0; i < digits; i++)
	{
		int			v = b62_value((unsigned char) in[i]);
		unsigned	carry;

		bad |= v < 0;
		carry = (unsigned) (v < 0 ? 0 : v);
		for (j = n; j > 0; j--)
		{
			unsigned	cur = out[j - 1] * 62u + carry;

			out[j - 1] = (uint8_t) (cur & 0xff);
			carry = cur >> 8;
		}
		bad |= carry != 0;
	}
	if (bad)
		memset(out, 0, n);
	return !bad;
}

/* CRC-32 (IEEE 802.3, reflected, as zlib computes it). */
static uint32_t
crc32_ieee(const char *s, size_t len)
{
	uint32_t	crc = 0xffffffffu;
	size_t		i;
	int			k;

	for (i = 0; i < len; i++)
	{
		crc ^= (unsigned char) s[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return crc ^ 0xffffffffu;
}

static void
checksum_text(const char *s, size_t len, char out[TG_TOKEN_CHECKSUM_LEN])
{
	uint32_t	crc = crc32_ieee(s, len);
	uint8_t		be[4];

	be[0] = (uint8_t) (crc >> 24);
	be[1] = (uint8_t) (crc >> 16);
	be[2] = (uint8_t) (crc >> 8);
	be[3] = (uint8_t) crc;
	b62_encode(be, 4, out);
}

bool
tg_token_spec_valid(const tg_token_spec *spec)
{
	size_t		plen,
				i;

	if (spec == NULL || spec->prefix == NULL)
		return false;
	plen = strlen(spec->prefix);
	if (plen < TG_TOKEN_PREFIX_MIN || plen > TG_TOKEN_PREFIX_MAX)
		return false;
	for (i = 0; i < plen; i++)
		if (spec->prefix[i] < 'a' || spec->prefix[i] > 'z')
			return false;
	return spec->id_len <= TG_TOKEN_PART_MAX &&
		spec->secret_len >= 16 && spec->secret_len <= TG_TOKEN_PART_MAX;
}

size_t
tg_token_len(const tg_token_spec *spec)
{
	size_t		n;

	if (!tg_token_spec_valid(spec))
		return 0;
	n = strlen(spec->prefix) + 1;
	if (spec->id_len > 0)
		n += tg_base62_len(spec->id_len) + 1;
	return n + tg_base62_len(spec->secret_len) + 1 + TG_TOKEN_CHECKSUM_LEN;
}

int
tg_token_make(const tg_token_spec *spec, const uint8_t *id, const uint8_t *secret,
			  char *out, size_t outcap)
{
	size_t		len = tg_token_len(spec),
				p;

	if (len == 0 || out == NULL || outcap < len + 1 || secret == NULL ||
		(spec->id_len > 0 && id == NULL))
		return -1;
	p = strlen(spec->prefix);
	memcpy(out, spec->prefix, p);
	out[p++] = '_';
	if (spec->id_len > 0)
	{
		b62_encode(id, spec->id_len, out + p);
		p += tg_base62_len(spec->id_len);
		out[p++] = '_';
	}
	b62_encode(secret, spec->secret_len, out + p);
	p += tg_base62_len(spec->secret_len);
	checksum_text(out, p, out + p + 1);
	out[p] = '_';
	out[len] = '\0';
	return (int) len;
}

/* Does s start with "<letters>_" where the letters are 2..16 long (any kind of token)? */
static bool
has_token_prefix(const char *s, size_t len)
{
	size_t		i;

	for (i = 0; i < len && i <= TG_TOKEN_PREFIX_MAX; i++)
	{
		if (s[i] == '_')
			return i >= TG_TOKEN_PREFIX_MIN;
		if (s[i] < 'a' || s[i] > 'z')
			return false;
	}
	return false;
}

/*
 * Check the shape of s (len == tg_token_len(spec)): prefix, separators and
 * digits; with decode, also the range of each part, filling id and secret.
 */
static tg_token_status
token_shape(const tg_token_spec *spec, const char *s, size_t len,
			bool decode, uint8_t *id, uint8_t *secret)
{
	size_t		plen = strlen(spec->prefix),
				p = plen + 1,
				i;
	size_t		idd = spec->id_len > 0 ? tg_base62_len(spec->id_len) : 0;
	size_t		sd = tg_base62_len(spec->secret_len);
	uint8_t		scratch[TG_TOKEN_PART_MAX];
	bool		ok = true;

	if (len < p || memcmp(s, spec->prefix, plen) != 0 || s[plen] != '_')
		return has_token_prefix(s, len) ? TG_TOKEN_WRONG_PREFIX : TG_TOKEN_MALFORMED;
	if (len != tg_token_len(spec))
		return TG_TOKEN_MALFORMED;
	if (idd > 0)
	{
		if (s[p + idd] != '_')
			return TG_TOKEN_MALFORMED;
		ok &= decode ? b62_decode(s + p, id ? id : scratch, spec->id_len) : true;
		for (i = 0; i < idd; i++)
			ok &= b62_value((unsigned char) s[p + i]) >= 0;
		p += idd + 1;
	}
	if (s[p + sd] != '_')
		return TG_TOKEN_MALFORMED;
	ok &= decode ? b62_decode(s + p, secret ? secret : scratch, spec->secret_len) : true;
	for (i = 0; i < sd; i++)
		ok &= b62_value((unsigned char) s[p + i]) >= 0;
	p += sd + 1;
	for (i = 0; i < TG_TOKEN_CHECKSUM_LEN; i++)
		ok &= b62_value((unsigned char) s[p + i]) >= 0;
	memset(scratch, 0, sizeof(scratch));
	return ok ? TG_TOKEN_OK : TG_TOKEN_MALFORMED;
}

/* Is the checksum of s (a token of spec's length) right? */
static bool
checksum_ok(const char *s, size_t len)
{
	char		want[TG_TOKEN_CHECKSUM_LEN];

	checksum_text(s, len - TG_TOKEN_CHECKSUM_LEN - 1, want);
	return memcmp(want, s + len - TG_TOKEN_CHECKSUM_LEN, TG_TOKEN_CHECKSUM_LEN) == 0;
}

tg_token_status
tg_token_parse(const tg_token_spec *spec, const char *s, size_t len,
			   uint8_t *id, uint8_t *secret)
{
	tg_token_status st;

	if (!tg_token_spec_valid(spec) || s == NULL || secret == NULL ||
		(spec->id_len > 0 && id == NULL))
		return TG_TOKEN_MALFORMED;
	memset(secret, 0, spec->secret_len);
	if (spec->id_len > 0)
		memset(id, 0, spec->id_len);
	st = token_shape(spec, s, len, true, id, secret);
	if (st == TG_TOKEN_OK && !checksum_ok(s, len))
		st = TG_TOKEN_BAD_CHECKSUM;
	if (st != TG_TOKEN_OK)
	{
		memset(secret, 0, spec->secret_len);
		if (spec->id_len > 0)
			memset(id, 0, spec->id_len);
	}
	return st;
}

bool
tg_token_scan(const tg_token_spec *specs, size_t nspecs,
			  const char *text, size_t len, size_t from, bool require_checksum,
			  size_t *start, size_t *tlen, size_t *which)
{
	size_t		p,
				k;

	if (text == NULL || specs == NULL)
		return false;
	for (p = from; p < len; p++)
	{
		if (p > 0 && is_word_char((unsigned char) text[p - 1]))
			continue;
		for (k = 0; k < nspecs; k++)
		{
			size_t		n = tg_token_len(&specs[k]);

			if (n == 0 || len - p < n)
				continue;
			if (p + n < len && is_word_char((unsigned char) text[p + n]))
				continue;
			if (token_shape(&specs[k], text + p, n, false, NULL, NULL) != TG_TOKEN_OK)
				continue;
			if (require_checksum && !checksum_ok(text + p, n))
				continue;
			*start = p;
			*tlen = n;
			*which = k;
			return true;
		}
	}
	return false;
}

bool
tg_token_bytes_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}
