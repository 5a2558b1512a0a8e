/*
 * test_otp.c — HOTP (RFC 4226 Appendix D), TOTP (RFC 6238 Appendix B),
 * verification windows and replay, base32 (RFC 4648 section 10), Key URIs.
 */
#include <string.h>
#include <stdint.h>

#include <openssl/hmac.h>
#include <sodium.h>

#include "unit.h"
#include "core/otp.h"

#define RFC_KEY20 "12345678901234567890"
#define RFC_KEY32 RFC_KEY20 "123456789012"
#define RFC_KEY64 RFC_KEY20 RFC_KEY20 RFC_KEY20 "1234"

static const uint8_t *
k(const char *s)
{
	return (const uint8_t *) s;
}

static void
test_hotp_vectors(void)
{
	/* RFC 4226 Appendix D, Tables 1 and 2 */
	static const char *const hmac[] = {
		"cc93cf18508d94934c64b65d8ba7667fb7cde4b0",
		"75a48a19d4cbe100644e8ac1397eea747a2d33ab",
		"0bacb7fa082fef30782211938bc1c5e70416ff44",
		"66c28227d03a2d5529262ff016a1e6ef76557ece",
		"a904c900a64b35909874b33e61c5938a8e15ed1c",
		"a37e783d7b7233c083d4f62926c7a25f238d0316",
		"bc9cd28561042c83f219324d3c607256c03272ae",
		"a4fb960c0bc06e1eabb804e5b397cdc4b45596fa",
		"1b3c89f65e6c9e883012052823443f048b4332db",
		"1637409809a679dc698207310c8c7fc07290d9e5"};
	static const uint32_t hotp[] = {755224, 287082, 359152, 969429, 338314,
	254676, 287922, 162583, 399871, 520489};
	uint64_t	c;

	for (c = 0; c < 10; c++)
	{
		uint8_t		msg[8] = {0, 0, 0, 0, 0, 0, 0, (uint8_t) c};
		uint8_t		mac[20],
					want[20];
		unsigned int maclen = 0;
		uint32_t	code = 0;

		unit_unhex(hmac[c], want, sizeof(want));
		CHECK(HMAC(EVP_sha1(), RFC_KEY20, 20, msg, 8, mac, &maclen) != NULL &&
			  maclen == 20 && memcmp(mac, want, 20) == 0);
		CHECK(tg_hotp(k(RFC_KEY20), 20, TG_OTP_SHA1, c, 6, &code) && code == hotp[c]);
	}
}

static void
test_totp_vectors(void)
{
	/* RFC 6238 Appendix B: 8 digits, X = 30, T0 = 0, one seed per hash */
	static const struct
	{
		int64_t		t;
		const char *sha1,
				   *sha256,
				   *sha512;
	}			v[] = {
		{59, "94287082", "46119246", "90693936"},
		{1111111109, "07081804", "68084774", "25091201"},
		{1111111111, "14050471", "67062674", "99943326"},
		{1234567890, "89005924", "91819424", "93441116"},
		{2000000000, "69279037", "90698825", "38618901"},
		{20000000000LL, "65353130", "77737706", "47863826"}};
	size_t		i;

	CHECK(strlen(RFC_KEY32) == 32 && strlen(RFC_KEY64) == 64);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
	{
		char		out[TG_OTP_CODE_BUF];

		CHECK(tg_totp_code(k(RFC_KEY20), 20, TG_OTP_SHA1, 8, 30, v[i].t, out) &&
			  strcmp(out, v[i].sha1) == 0);
		CHECK(tg_totp_code(k(RFC_KEY32), 32, TG_OTP_SHA256, 8, 30, v[i].t, out) &&
			  strcmp(out, v[i].sha256) == 0);
		CHECK(tg_totp_code(k(RFC_KEY64), 64, TG_OTP_SHA512, 8, 30, v[i].t, out) &&
			  strcmp(out, v[i].sha512) == 0);
	}
	/* the RFC's steps (Value of T) */
	{
		uint64_t	s = 0;

		CHECK(tg_totp_step(59, 30, &s) && s == 1);
		CHECK(tg_totp_step(1111111109, 30, &s) && s == 0x23523ECu);
		CHECK(tg_totp_step(20000000000LL, 30, &s) && s == 0x27BC86AAu);
	}
}

static void
test_otp_limits(void)
{
	uint32_t	code;
	uint64_t	s;
	char		out[TG_OTP_CODE_BUF];
	tg_otp_alg	a;

	/* digits */
	CHECK(!tg_hotp(k(RFC_KEY20), 20, TG_OTP_SHA1, 0, 5, &code));
	CHECK(!tg_hotp(k(RFC_KEY20), 20, TG_OTP_SHA1, 0, 9, &code));
	CHECK(tg_hotp(k(RFC_KEY20), 20, TG_OTP_SHA1, 0, 7, &code) && code == 4755224);
	CHECK(tg_hotp(k(RFC_KEY20), 20, TG_OTP_SHA1, 0, 8, &code) && code == 84755224);
	/* keys */
	CHECK(!tg_hotp(k(RFC_KEY20), 9, TG_OTP_SHA1, 0, 6, &code));
	CHECK(tg_hotp(k(RFC_KEY20), 10, TG_OTP_SHA1, 0, 6, &code));
	CHECK(!tg_hotp(k(RFC_KEY64 "x"), 65, TG_OTP_SHA1, 0, 6, &code));
	CHECK(!tg_hotp(NULL, 20, TG_OTP_SHA1, 0, 6, &code));
	CHECK(!tg_hotp(k(RFC_KEY20), 20, (tg_otp_alg) 7, 0, 6, &code));
	/* a 64-bit counter */
	CHECK(tg_hotp(k(RFC_KEY20), 20, TG_OTP_SHA1, UINT64_MAX, 6, &code) && code < 1000000);
	/* times and periods */
	CHECK(!tg_totp_step(-1, 30, &s));
	CHECK(!tg_totp_step(INT64_MIN, 30, &s));
	CHECK(tg_totp_step(INT64_MAX, 30, &s) && s == (uint64_t) INT64_MAX / 30);
	CHECK(!tg_totp_step(0, 0, &s));
	CHECK(!tg_totp_step(0, -30, &s));
	CHECK(!tg_totp_step(0, TG_OTP_PERIOD_MAX + 1, &s));
	CHECK(tg_totp_step(29, 30, &s) && s == 0);
	CHECK(tg_totp_step(30, 30, &s) && s == 1);
	CHECK(!tg_totp_code(k(RFC_KEY20), 20, TG_OTP_SHA1, 6, 30, -30, out));
	/* formatting keeps leading zeros */
	CHECK(tg_otp_format(123, 6, out) && strcmp(out, "000123") == 0);
	CHECK(tg_otp_format(0, 8, out) && strcmp(out, "00000000") == 0);
	CHECK(!tg_otp_format(1000000, 6, out));
	CHECK(!tg_otp_format(1, 5, out));
	/* algorithm names */
	CHECK(tg_otp_alg_parse("SHA256", 6, &a) && a == TG_OTP_SHA256);
	CHECK(!tg_otp_alg_parse("sha1", 4, &a));
	CHECK(!tg_otp_alg_parse("SHA", 3, &a));
	CHECK(strcmp(tg_otp_alg_name(TG_OTP_SHA512), "SHA512") == 0);
	CHECK(tg_otp_alg_name((tg_otp_alg) 0) == NULL);
}

static void
test_otp_parse_code(void)
{
	uint32_t	c = 99;

	CHECK(tg_otp_parse_code("000123", 6, 6, &c) && c == 123);
	CHECK(tg_otp_parse_code("94287082", 8, 8, &c) && c == 94287082);
	CHECK(!tg_otp_parse_code("12345", 5, 6, &c));
	CHECK(!tg_otp_parse_code("1234567", 7, 6, &c));
	CHECK(!tg_otp_parse_code(" 12345", 6, 6, &c));
	CHECK(!tg_otp_parse_code("12345 ", 6, 6, &c));
	CHECK(!tg_otp_parse_code("+12345", 6, 6, &c));
	CHECK(!tg_otp_parse_code("-12345", 6, 6, &c));
	CHECK(!tg_otp_parse_code("123 456", 7, 7, &c));
	CHECK(!tg_otp_parse_code("12a456", 6, 6, &c));
	CHECK(!tg_otp_parse_code("123\0" "56", 6, 6, &c));
	CHECK(!tg_otp_parse_code("\xd9\xa1" "2345", 6, 6, &c));	/* Arabic-Indic digit one */
	CHECK(!tg_otp_parse_code("", 0, 6, &c));
	CHECK(!tg_otp_parse_code(NULL, 6, 6, &c));
	CHECK(!tg_otp_parse_code("12345", 5, 5, &c));
}

static void
test_otp_verify(void)
{
	const uint8_t *key = k(RFC_KEY20);
	char		prev[TG_OTP_CODE_BUF],
				cur[TG_OTP_CODE_BUF],
				next[TG_OTP_CODE_BUF],
				far[TG_OTP_CODE_BUF];
	int64_t		t = 1111111111;	/* step 0x23523ED */
	uint64_t	s = 0x23523ED;
	uint64_t	m = 0;

	CHECK(tg_totp_code(key, 20, TG_OTP_SHA1, 6, 30, t - 30, prev));
	CHECK(tg_totp_code(key, 20, TG_OTP_SHA1, 6, 30, t, cur));
	CHECK(tg_totp_code(key, 20, TG_OTP_SHA1, 6, 30, t + 30, next));
	CHECK(tg_totp_code(key, 20, TG_OTP_SHA1, 6, 30, t + 60, far));
	CHECK(strcmp(cur, "050471") == 0);	/* RFC 6238's 14050471, 6 digits */

	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, 0, -1, cur, 6, &m) == TG_OTP_ACCEPT && m == s);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, 0, -1, prev, 6, &m) == TG_OTP_REJECT);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, 0, -1, next, 6, &m) == TG_OTP_REJECT);
	m = 0;
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, 1, -1, prev, 6, &m) == TG_OTP_ACCEPT && m == s - 1);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, 1, -1, next, 6, &m) == TG_OTP_ACCEPT && m == s + 1);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, 1, -1, far, 6, &m) == TG_OTP_REJECT);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, 2, -1, far, 6, &m) == TG_OTP_ACCEPT && m == s + 2);

	/* replay: a step <= the last accepted one is refused */
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, 1, (int64_t) s, cur, 6, &m) == TG_OTP_REJECT);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, 1, (int64_t) s, prev, 6, &m) == TG_OTP_REJECT);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, 1, (int64_t) s + 1, next, 6, &m) == TG_OTP_REJECT);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, 1, (int64_t) s - 1, cur, 6, &m) == TG_OTP_ACCEPT && m == s);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, 1, (int64_t) s, next, 6, &m) == TG_OTP_ACCEPT && m == s + 1);

	/* the 8-digit RFC value at 59 s, and step 0 exists but no step -1 */
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 8, 30, 59, 1, -1, "94287082", 8, &m) == TG_OTP_ACCEPT && m == 1);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 8, 30, 5, 1, -1, "94287082", 8, &m) == TG_OTP_ACCEPT && m == 1);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, 5, 3, -1, "755224", 6, &m) == TG_OTP_ACCEPT && m == 0);

	/* malformed codes are rejected, bad parameters are errors */
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, 1, -1, "50471", 5, &m) == TG_OTP_REJECT);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, 1, -1, " 50471", 6, &m) == TG_OTP_REJECT);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, 1, -1, "14050471", 8, &m) == TG_OTP_REJECT);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, 1, -1, NULL, 0, &m) == TG_OTP_REJECT);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, -1, 1, -1, cur, 6, &m) == TG_OTP_ERROR);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, -1, -1, cur, 6, &m) == TG_OTP_ERROR);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 30, t, TG_OTP_WINDOW_MAX + 1, -1, cur, 6, &m) == TG_OTP_ERROR);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 9, 30, t, 1, -1, cur, 6, &m) == TG_OTP_ERROR);
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 0, t, 1, -1, cur, 6, &m) == TG_OTP_ERROR);
	CHECK(tg_totp_verify(key, 5, TG_OTP_SHA1, 6, 30, t, 1, -1, cur, 6, &m) == TG_OTP_ERROR);
	/* a time whose window reaches past INT64_MAX steps still works */
	CHECK(tg_totp_verify(key, 20, TG_OTP_SHA1, 6, 1, INT64_MAX, 1, -1, "000000", 6, &m) != TG_OTP_ERROR);
}

static bool
b32_encodes(const char *plain, bool pad, const char *expect)
{
	char		out[64];
	size_t		n = strlen(plain);

	if (tg_base32_encoded_len(n, pad) != strlen(expect) + 1)
		return false;
	memset(out, '#', sizeof(out));
	tg_base32_encode((const uint8_t *) plain, n, pad, out);
	return strcmp(out, expect) == 0;
}

static bool
b32_decodes(const char *text, const char *expect)
{
	uint8_t		out[64];
	size_t		n = strlen(expect);

	return tg_base32_decode(text, strlen(text), out, sizeof(out)) == (long) n &&
		memcmp(out, expect, n) == 0;
}

static bool
b32_rejects(const char *text)
{
	uint8_t		out[64];

	return tg_base32_decode(text, strlen(text), out, sizeof(out)) == -1;
}

static void
test_base32(void)
{
	/* RFC 4648 section 10 */
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const padded[] = {"", "MY======", "MZXQ====", "MZXW6===",
	"MZXW6YQ=", "MZXW6YTB", "MZXW6YTBOI======"};
	static const char *const bare[] = {"", "MY", "MZXQ", "MZXW6", "MZXW6YQ",
	"MZXW6YTB", "MZXW6YTBOI"};
	static const char *const lower[] = {"", "my", "mzxq", "mzxw6", "mzxw6yq",
	"mzxw6ytb", "mzxw6ytboi======"};
	size_t		i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
	{
		CHECK(b32_encodes(plain[i], true, padded[i]));
		CHECK(b32_encodes(plain[i], false, bare[i]));
		CHECK(b32_decodes(padded[i], plain[i]));
		CHECK(b32_decodes(bare[i], plain[i]));
		CHECK(b32_decodes(lower[i], plain[i]));
	}
	CHECK(b32_encodes(RFC_KEY20, false, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"));
	CHECK(b32_decodes("MzXw6YtBoI", "foobar"));

	{
		/* each refused: outside the alphabet, impossible lengths, non-canonical
		 * trailing bits ('f' is MY, not MZ; "fo" is MZXQ, not MZXR), bad padding */
		static const char *const bad[] = {
			"MZXW6YT0",
			"MZXW6YT1",
			"MZXW6YT8",
			"MZXW6YT9",
			"MZXW 6YTB",
			"MZXW6YTB\n",
			"MZXW-6YTB",
			"MZ=W6YTB",
			"MZXW6YT\xc3\xa9",
			"M",
			"MZX",
			"MZXW6Y",
			"MZXW6YTBO",
			"MZ",
			"MZ======",
			"MZXR",
			"MZXW7",
			"MZXW6YR",
			"MZXW6YTBOJ",
			"MY=",
			"MY=====",
			"MY=======",
			"MY===============",
			"MY======MY======",
			"M=======",
			"MZX=====",
			"========",
			"=",
			"MZXW6YTB========",
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			CHECK(b32_rejects(bad[i]));
	}
	{
		uint8_t		out[8];

		CHECK(tg_base32_decode("MZ\0W6YTB", 8, out, sizeof(out)) == -1);
	}
	/* output capacity */
	{
		uint8_t		out[6];

		CHECK(tg_base32_decode("MZXW6YTBOI", 10, out, 6) == 6 && memcmp(out, "foobar", 6) == 0);
		CHECK(tg_base32_decode("MZXW6YTBOI", 10, out, 5) == -1);
	}
}

static void
test_otp_new_secret(void)
{
	uint8_t		a[TG_OTP_KEY_MAX],
				b[TG_OTP_KEY_MAX];

	CHECK(sodium_init() >= 0);
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	CHECK(tg_otp_new_secret(a, TG_OTP_KEY_DEFAULT));
	CHECK(tg_otp_new_secret(b, TG_OTP_KEY_DEFAULT));
	CHECK(memcmp(a, b, TG_OTP_KEY_DEFAULT) != 0);
	CHECK(!unit_all_bytes(a, TG_OTP_KEY_DEFAULT, 0));
	CHECK(unit_all_bytes(a + TG_OTP_KEY_DEFAULT, sizeof(a) - TG_OTP_KEY_DEFAULT, 0));
	CHECK(!tg_otp_new_secret(a, TG_OTP_KEY_MIN - 1));
	CHECK(!tg_otp_new_secret(a, TG_OTP_KEY_MAX + 1));
	CHECK(tg_otp_new_secret(a, TG_OTP_KEY_MAX));
}

#define URI(iss, acc, alg, dig, out, cap) \
	tg_otp_uri((iss), strlen(iss), (acc), strlen(acc), k(RFC_KEY20), 20, (alg), (dig), 30, (out), (cap))

static void
test_otp_uri(void)
{
	char		out[512];
	const char *plain = "otpauth://totp/Example:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
		"&issuer=Example&algorithm=SHA1&digits=6&period=30";
	const char *hard = "otpauth://totp/ACME%20Co%3A%26%3F%23%25%2F%C3%A9:"
		"bob%40example.com%20%3Ax%2By~_-.?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
		"&issuer=ACME%20Co%3A%26%3F%23%25%2F%C3%A9&algorithm=SHA512&digits=8&period=30";
	long		n;
	size_t		len;

	n = URI("Example", "alice", TG_OTP_SHA1, 6, out, sizeof(out));
	CHECK(n == (long) strlen(plain) && strcmp(out, plain) == 0);
	n = URI("ACME Co:&?#%/\xc3\xa9", "bob@example.com :x+y~_-.", TG_OTP_SHA512, 8, out, sizeof(out));
	CHECK(n == (long) strlen(hard) && strcmp(out, hard) == 0);
	n = tg_otp_uri("Ex", 2, "a", 1, k(RFC_KEY32), 32, TG_OTP_SHA256, 7, 60, out, sizeof(out));
	CHECK(n > 0 && strstr(out, "&algorithm=SHA256&digits=7&period=60") != NULL &&
		  strstr(out, "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA&") != NULL);

	/* exactly fits, one byte short (then wiped), far too short */
	len = strlen(plain);
	CHECK(URI("Example", "alice", TG_OTP_SHA1, 6, out, len + 1) == (long) len && strcmp(out, plain) == 0);
	memset(out, 'x', sizeof(out));
	CHECK(URI("Example", "alice", TG_OTP_SHA1, 6, out, len) == -1);
	CHECK(unit_all_bytes((const uint8_t *) out, len, 0));
	CHECK(URI("Example", "alice", TG_OTP_SHA1, 6, out, 40) == -1);
	CHECK(URI("Example", "alice", TG_OTP_SHA1, 6, out, 1) == -1 && out[0] == '\0');
	CHECK(URI("Example", "alice", TG_OTP_SHA1, 6, out, 0) == -1);
	CHECK(URI("Example", "alice", TG_OTP_SHA1, 6, NULL, 100) == -1);

	/* bad parameters */
	CHECK(URI("", "alice", TG_OTP_SHA1, 6, out, sizeof(out)) == -1);
	CHECK(URI("Example", "", TG_OTP_SHA1, 6, out, sizeof(out)) == -1);
	CHECK(tg_otp_uri("Ex\0mple", 7, "a", 1, k(RFC_KEY20), 20, TG_OTP_SHA1, 6, 30, out, sizeof(out)) == -1);
	CHECK(tg_otp_uri("Ex", 2, "a\0b", 3, k(RFC_KEY20), 20, TG_OTP_SHA1, 6, 30, out, sizeof(out)) == -1);
	CHECK(URI("Example", "alice", TG_OTP_SHA1, 5, out, sizeof(out)) == -1);
	CHECK(URI("Example", "alice", (tg_otp_alg) 9, 6, out, sizeof(out)) == -1);
	CHECK(tg_otp_uri("Ex", 2, "a", 1, k(RFC_KEY20), 9, TG_OTP_SHA1, 6, 30, out, sizeof(out)) == -1);
	CHECK(tg_otp_uri("Ex", 2, "a", 1, k(RFC_KEY20), 20, TG_OTP_SHA1, 6, 0, out, sizeof(out)) == -1);
}

void
test_otp(void)
{
	test_hotp_vectors();
	test_totp_vectors();
	test_otp_limits();
	test_otp_parse_code();
	test_otp_verify();
	test_base32();
	test_otp_new_secret();
	test_otp_uri();
}
