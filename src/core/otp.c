/*
 * otp.c — HOTP/TOTP, base32 and the otpauth Key URI (see otp.h).
 */
#include "core/otp.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

static const uint32_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000,
10000000, 100000000};

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

const char *
tg_otp_alg_name(tg_otp_alg alg)
{
	switch (alg)
	{
		case TG_OTP_SHA1:
			return "SHA1";
		case TG_OTP_SHA256:
			return "SHA256";
		case TG_OTP_SHA512:
			return "SHA512";
	}
	return NULL;
}

bool
tg_otp_alg_parse(const char *name, size_t len, tg_otp_alg *alg)
{
	static const tg_otp_alg all[] = {TG_OTP_SHA1, TG_OTP_SHA256, TG_OTP_SHA512};
	size_t		i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
	{
		const char *n = tg_otp_alg_name(all[i]);

		if (strlen(n) == len && memcmp(n, name, len) == 0)
		{
			*alg = all[i];
			return true;
		}
	}
	return false;
}

static const EVP_MD *
alg_md(tg_otp_alg alg)
{
	switch (alg)
	{
		case TG_OTP_SHA1:
			return EVP_sha1();
		case TG_OTP_SHA256:
			return EVP_sha256();
		case TG_OTP_SHA512:
			return EVP_sha512();
	}
	return NULL;
}

static bool
digits_ok(int digits)
{
	return digits >= TG_OTP_DIGITS_MIN && digits <= TG_OTP_DIGITS_MAX;
}

bool
tg_hotp(const uint8_t *key, size_t keylen, tg_otp_alg alg,
		uint64_t counter, int digits, uint32_t *code)
{
	const EVP_MD *md = alg_md(alg);
	uint8_t		msg[8];
	uint8_t		mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	unsigned int off;
	uint32_t	bin;
	int			i;

	if (md == NULL || !digits_ok(digits) || key == NULL ||
		keylen < TG_OTP_KEY_MIN || keylen > TG_OTP_KEY_MAX)
		return false;
	for (i = 7; i >= 0; i--)
	{
		msg[i] = (uint8_t) (counter & 0xff);
		counter >>= 8;
	}
	if (HMAC(md, key, (int) keylen, msg, sizeof(msg), mac, &maclen) == NULL ||
		maclen < 20)
	{
		OPENSSL_cleanse(mac, sizeof(mac));
		return false;
	}
	/* dynamic truncation, RFC 4226 section 5.3 */
	off = mac[maclen - 1] & 0x0f;
	bin = ((uint32_t) (mac[off] & 0x7f) << 24) | ((uint32_t) mac[off + 1] << 16) |
		((uint32_t) mac[off + 2] << 8) | (uint32_t) mac[off + 3];
	*code = bin % pow10[digits];
	OPENSSL_cleanse(mac, sizeof(mac));
	return true;
}

bool
tg_totp_step(int64_t unix_time, int period, uint64_t *step)
{
	if (unix_time < 0 || period < 1 || period > TG_OTP_PERIOD_MAX)
		return false;
	*step = (uint64_t) unix_time / (uint64_t) period;
	return true;
}

bool
tg_otp_format(uint32_t code, int digits, char out[TG_OTP_CODE_BUF])
{
	int			i;

	if (!digits_ok(digits) || code >= pow10[digits])
		return false;
	out[digits] = '\0';
	for (i = digits - 1; i >= 0; i--)
	{
		out[i] = (char) ('0' + code % 10);
		code /= 10;
	}
	return true;
}

bool
tg_otp_parse_code(const char *text, size_t len, int digits, uint32_t *code)
{
	uint32_t	v = 0;
	size_t		i;

	if (!digits_ok(digits) || text == NULL || len != (size_t) digits)
		return false;
	for (i = 0; i < len; i++)
	{
		if (text[i] < '0' || text[i] > '9')
			return false;
		v = v * 10 + (uint32_t) (text[i] - '0');
	}
	*code = v;
	return true;
}

bool
tg_totp_code(const uint8_t *key, size_t keylen, tg_otp_alg alg,
			 int digits, int period, int64_t unix_time, char out[TG_OTP_CODE_BUF])
{
	uint64_t	step;
	uint32_t	code;

	return tg_totp_step(unix_time, period, &step) &&
		tg_hotp(key, keylen, alg, step, digits, &code) &&
		tg_otp_format(code, digits, out);
}

/* All ones if a == b, else 0, without a branch on the values. */
static uint64_t
ct_eq_mask(uint32_t a, uint32_t b)
{
	uint64_t	d = (uint64_t) (a ^ b);

	/* d - 1 underflows into the top bit exactly when d == 0 */
	return (uint64_t) 0 - ((d - 1) >> 63);
}

tg_otp_verdict
tg_totp_verify(const uint8_t *key, size_t keylen, tg_otp_alg alg,
			   int digits, int period, int64_t unix_time, int window,
			   int64_t last_step, const char *code, size_t codelen,
			   uint64_t *matched_step)
{
	uint64_t	now;
	uint64_t	found = 0;
	uint64_t	best = 0;
	uint32_t	given = 0;
	bool		wellformed;
	int			k;

	if (window < 0 || window > TG_OTP_WINDOW_MAX ||
		!tg_totp_step(unix_time, period, &now) || !digits_ok(digits) ||
		alg_md(alg) == NULL || key == NULL ||
		keylen < TG_OTP_KEY_MIN || keylen > TG_OTP_KEY_MAX)
		return TG_OTP_ERROR;
	/* a malformed code is refused, but the window is still computed */
	wellformed = tg_otp_parse_code(code, codelen, digits, &given);

	for (k = -window; k <= window; k++)
	{
		uint64_t	step;
		uint64_t	eligible;
		uint64_t	hit;
		uint32_t	expect = 0;

		/* whether a step exists and is fresh depends on public data only */
		if (k < 0 && now < (uint64_t) (-k))
			continue;
		step = now + (uint64_t) (int64_t) k;
		eligible = (last_step < 0 || step > (uint64_t) last_step) ? ~(uint64_t) 0 : 0;
		if (!tg_hotp(key, keylen, alg, step, digits, &expect))
			return TG_OTP_ERROR;
		hit = ct_eq_mask(expect, given) & eligible;
		/* steps rise with k: a later hit replaces an earlier one */
		best = (hit & step) | (~hit & best);
		found |= hit;
		expect = 0;
	}
	sodium_memzero(&given, sizeof(given));
	if (!wellformed || found == 0)
		return TG_OTP_REJECT;
	*matched_step = best;
	return TG_OTP_ACCEPT;
}

bool
tg_otp_new_secret(uint8_t *out, size_t n)
{
	if (out == NULL || n < TG_OTP_KEY_MIN || n > TG_OTP_KEY_MAX)
		return false;
	randombytes_buf(out, n);
	return true;
}

size_t
tg_base32_encoded_len(size_t n, bool pad)
{
	static const size_t tail[] = {0, 2, 4, 5, 7};

	if (pad)
		return (n + 4) / 5 * 8 + 1;
	return n / 5 * 8 + tail[n % 5] + 1;
}

void
tg_base32_encode(const uint8_t *in, size_t n, bool pad, char *out)
{
	size_t		o = 0;
	size_t		i;
	uint32_t	acc = 0;
	int			bits = 0;

	for (i = 0; i < n; i++)
	{
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5)
		{
			bits -= 5;
			out[o++] = b32_alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
	if (pad)
		while (o % 8 != 0)
			out[o++] = '=';
	out[o] = '\0';
}

static int
b32_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

long
tg_base32_decode(const char *in, size_t len, uint8_t *out, size_t outcap)
{
	size_t		data = len;
	size_t		o = 0;
	size_t		i;
	uint32_t	acc = 0;
	int			bits = 0;

	if (in == NULL && len > 0)
		return -1;
	while (data > 0 && in[data - 1] == '=')
		data--;
	if (data < len)
	{
		/* padding present: complete, and exactly what the final group needs */
		if (len % 8 != 0 || len - data >= 8)
			return -1;
		switch (data % 8)
		{
			case 2:
			case 4:
			case 5:
			case 7:
				break;
			default:
				return -1;
		}
	}
	switch (data % 8)
	{
		case 1:
		case 3:
		case 6:
			return -1;			/* no byte count encodes to these lengths */
	}
	if (data / 8 * 5 + (data % 8) * 5 / 8 > outcap)
		return -1;
	for (i = 0; i < data; i++)
	{
		int			v = b32_value(in[i]);

		if (v < 0)
			return -1;
		acc = ((acc << 5) | (uint32_t) v) & 0xffff;
		bits += 5;
		if (bits >= 8)
		{
			bits -= 8;
			out[o++] = (uint8_t) (acc >> bits);
		}
	}
	/* the leftover bits must be zero: one text per value */
	if ((acc & ((1u << bits) - 1)) != 0)
	{
		sodium_memzero(out, o);
		return -1;
	}
	return (long) o;
}

/* Append s (n bytes) percent-encoded; false if it would not fit with a NUL. */
static bool
put_escaped(char *out, size_t outcap, size_t *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t		i;

	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~')
		{
			if (*o + 2 > outcap)
				return false;
			out[(*o)++] = (char) c;
		}
		else
		{
			if (*o + 4 > outcap)
				return false;
			out[(*o)++] = '%';
			out[(*o)++] = hex[c >> 4];
			out[(*o)++] = hex[c & 15];
		}
	}
	out[*o] = '\0';
	return true;
}

static bool
put_raw(char *out, size_t outcap, size_t *o, const char *s)
{
	size_t		n = strlen(s);

	if (*o + n + 1 > outcap)
		return false;
	memcpy(out + *o, s, n + 1);
	*o += n;
	return true;
}

long
tg_otp_uri(const char *issuer, size_t issuer_len,
		   const char *account, size_t account_len,
		   const uint8_t *key, size_t keylen, tg_otp_alg alg,
		   int digits, int period, char *out, size_t outcap)
{
	const char *alg_name = tg_otp_alg_name(alg);
	char		tail[64];
	size_t		o = 0;
	size_t		b32len;

	if (out == NULL || outcap == 0)
		return -1;
	out[0] = '\0';
	if (alg_name == NULL || !digits_ok(digits) || period < 1 ||
		period > TG_OTP_PERIOD_MAX || key == NULL ||
		keylen < TG_OTP_KEY_MIN || keylen > TG_OTP_KEY_MAX ||
		issuer == NULL || issuer_len == 0 || memchr(issuer, '\0', issuer_len) != NULL ||
		account == NULL || account_len == 0 || memchr(account, '\0', account_len) != NULL)
		return -1;
	b32len = tg_base32_encoded_len(keylen, false);
	if (!put_raw(out, outcap, &o, "otpauth://totp/") ||
		!put_escaped(out, outcap, &o, issuer, issuer_len) ||
		!put_raw(out, outcap, &o, ":") ||
		!put_escaped(out, outcap, &o, account, account_len) ||
		!put_raw(out, outcap, &o, "?secret=") ||
		o + b32len > outcap)
		goto fail;
	tg_base32_encode(key, keylen, false, out + o);
	o += b32len - 1;
	snprintf(tail, sizeof(tail), "&algorithm=%s&digits=%d&period=%d",
			 alg_name, digits, period);
	if (!put_raw(out, outcap, &o, "&issuer=") ||
		!put_escaped(out, outcap, &o, issuer, issuer_len) ||
		!put_raw(out, outcap, &o, tail))
		goto fail;
	return (long) o;

fail:
	sodium_memzero(out, outcap);
	return -1;
}
