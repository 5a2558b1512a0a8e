/* test_encoding.c — strict base64url (RFC 4648 section 5) and hex decoding. */
#include <string.h>
#include <stdint.h>

#include <sodium.h>

#include "unit.h"
#include "core/encoding.h"

/* Encode n bytes and compare with the expected unpadded base64url text. */
static bool
encodes_to(const void *in, size_t n, const char *expect)
{
	char		out[64];

	if (tg_b64url_encoded_len(n) != strlen(expect) + 1 || sizeof(out) < strlen(expect) + 1)
		return false;
	memset(out, '#', sizeof(out));
	tg_b64url_encode((const uint8_t *) in, n, out);
	return strcmp(out, expect) == 0;
}

/* Decode text (strlen) with an ample buffer and compare with the expected bytes. */
static bool
decodes_to(const char *text, const void *expect, size_t n)
{
	uint8_t		out[64];

	memset(out, 0xee, sizeof(out));
	return tg_b64url_decode(text, strlen(text), out, sizeof(out)) == (long) n &&
		memcmp(out, expect, n) == 0;
}

static bool
rejects(const char *text, size_t len)
{
	uint8_t		out[64];

	return tg_b64url_decode(text, len, out, sizeof(out)) == -1;
}

#define REJECTS(s) rejects((s), sizeof(s) - 1)

static bool
url_safe_text(const char *s, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static void
test_b64url_vectors(void)
{
	/* RFC 4648 section 10, padding removed (section 3.2) */
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const coded[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	size_t		i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
	{
		CHECK(encodes_to(plain[i], strlen(plain[i]), coded[i]));
		CHECK(decodes_to(coded[i], plain[i], strlen(plain[i])));
	}

	/* bytes whose encoding uses the url-safe characters 62 '-' and 63 '_' */
	{
		static const uint8_t fbff[] = {0xfb, 0xff};
		static const uint8_t ones[] = {0xff, 0xff, 0xff};
		static const uint8_t dashes[] = {0xfb, 0xef, 0xbe};
		static const uint8_t mixed[] = {0x03, 0xef, 0xff};

		CHECK(encodes_to(fbff, 2, "-_8"));
		CHECK(decodes_to("-_8", fbff, 2));
		CHECK(encodes_to(ones, 3, "____"));
		CHECK(decodes_to("____", ones, 3));
		CHECK(encodes_to(dashes, 3, "----"));
		CHECK(decodes_to("----", dashes, 3));
		CHECK(encodes_to(mixed, 3, "A-__"));
		CHECK(decodes_to("A-__", mixed, 3));
	}

	/* encoded length (including the NUL) for the first few sizes */
	CHECK(tg_b64url_encoded_len(0) == 1);
	CHECK(tg_b64url_encoded_len(1) == 3);
	CHECK(tg_b64url_encoded_len(2) == 4);
	CHECK(tg_b64url_encoded_len(3) == 5);
	CHECK(tg_b64url_encoded_len(32) == 44);
}

static void
test_b64url_round_trips(void)
{
	static const unsigned char seed[randombytes_SEEDBYTES] = "tenantguard/test_encoding/seed!";
	uint8_t		in[301],
				out[301];
	char		text[512];
	size_t		n;
	int			ok_len = 0,
				ok_alpha = 0,
				ok_trip = 0,
				ok_tight = 0,
				ok_short = 0;

	randombytes_buf_deterministic(in, sizeof(in), seed);
	for (n = 0; n <= 300; n++)
	{
		size_t		tlen;
		long		r;

		/* vary content per length, not just the prefix */
		in[0] ^= (uint8_t) n;
		memset(text, '#', sizeof(text));
		tg_b64url_encode(in, n, text);
		tlen = strlen(text);
		if (tlen + 1 == tg_b64url_encoded_len(n) && tlen == (4 * n + 2) / 3 && tlen % 4 != 1)
			ok_len++;
		else
			fprintf(stderr, "  b64url: length %zu encoded to %zu chars\n", n, tlen);
		if (url_safe_text(text, tlen))
			ok_alpha++;
		memset(out, 0xee, sizeof(out));
		r = tg_b64url_decode(text, tlen, out, sizeof(out));
		if (r == (long) n && memcmp(in, out, n) == 0)
			ok_trip++;
		else
			fprintf(stderr, "  b64url: length %zu decoded to %ld\n", n, r);
		/* an exactly sized output buffer is enough ... */
		r = tg_b64url_decode(text, tlen, out, n);
		if (r == (long) n && memcmp(in, out, n) == 0)
			ok_tight++;
		/* ... and one byte less is not */
		if (n == 0 || tg_b64url_decode(text, tlen, out, n - 1) == -1)
			ok_short++;
		else
			fprintf(stderr, "  b64url: length %zu decoded into %zu bytes\n", n, n - 1);
	}
	CHECK(ok_len == 301);
	CHECK(ok_alpha == 301);
	CHECK(ok_trip == 301);
	CHECK(ok_tight == 301);
	CHECK(ok_short == 301);
}

static void
test_b64url_rejects(void)
{
	uint8_t		out[8];

	/* sanity: the unmodified forms are accepted */
	CHECK(!REJECTS("Zg"));
	CHECK(!REJECTS("Zm8"));
	CHECK(!REJECTS("-_8"));

	/* padding */
	CHECK(REJECTS("Zg=="));
	CHECK(REJECTS("Zg="));
	CHECK(REJECTS("Zm8="));
	CHECK(REJECTS("Zm9v===="));
	CHECK(REJECTS("===="));
	CHECK(REJECTS("="));

	/* the standard alphabet's '+' and '/' (0xfb 0xff is "+/8" there) */
	CHECK(REJECTS("+/8"));
	CHECK(REJECTS("+_8"));
	CHECK(REJECTS("-/8"));
	CHECK(REJECTS("Zm9v+A"));
	CHECK(REJECTS("Zm9v/A"));

	/* whitespace anywhere */
	CHECK(REJECTS(" Zm9v"));
	CHECK(REJECTS("Zm9v "));
	CHECK(REJECTS("Zm9v\n"));
	CHECK(REJECTS("Zm\r\n9v"));
	CHECK(REJECTS("Zm9v\tYg"));
	CHECK(REJECTS("Zm9v Yg"));

	/* other bytes: punctuation, NUL, high bytes */
	CHECK(REJECTS("Zm9v.A"));
	CHECK(REJECTS("Zm9v~A"));
	CHECK(REJECTS("Zm\0v"));

	/* every byte outside the alphabet, as the last character of a quantum */
	{
		int			c,
					ok = 0;

		for (c = 0; c < 128; c++)
		{
			char		s[4] = {'A', 'A', 'A', (char) c};
			bool		alpha = url_safe_text(s + 3, 1);

			if ((tg_b64url_decode(s, 4, out, sizeof(out)) == 3) == alpha)
				ok++;
			else
				fprintf(stderr, "  b64url: byte 0x%02x %s\n", c, alpha ? "rejected" : "accepted");
		}
		CHECK(ok == 128);
	}

	/*
	 * Bytes 0x80..0xff must be rejected too. libsodium 1.0.18's
	 * sodium_base642bin decodes each of them as '_' (63) (a signed-char bug,
	 * fixed upstream), so "\xff\xff\xff\xff" decodes like "____".
	 */
	CHECK(REJECTS("Zm\xc3\xa9"));
	CHECK(REJECTS("Zm9v\x80\x80"));
	CHECK(REJECTS("\xff\xff\xff\xff"));
	{
		int			c,
					ok = 0;

		for (c = 128; c < 256; c++)
		{
			char		s[4] = {'A', 'A', 'A', (char) c};

			if (tg_b64url_decode(s, 4, out, sizeof(out)) == -1)
				ok++;
		}
		CHECK(ok == 128);
	}

	/* a lone trailing character (length % 4 == 1) */
	CHECK(REJECTS("Z"));
	CHECK(REJECTS("Zm9vY"));
	CHECK(REJECTS("Zm9vYmFyZ"));
	CHECK(REJECTS("AAAAA"));

	/* non-canonical trailing bits: "f" is "Zg", "fo" is "Zm8", 0xfb 0xff is "-_8" */
	CHECK(REJECTS("Zh"));
	CHECK(REJECTS("Zv"));
	CHECK(REJECTS("Zm9"));
	CHECK(REJECTS("Zm_"));
	CHECK(REJECTS("-_9"));
	CHECK(REJECTS("-__"));

	/* the length given is respected: a valid prefix of a longer string */
	CHECK(tg_b64url_decode("Zm9vYmFy", 4, out, sizeof(out)) == 3 && memcmp(out, "foo", 3) == 0);
	CHECK(tg_b64url_decode("Zm9vYmFy", 5, out, sizeof(out)) == -1);

	/* output capacity too small */
	CHECK(tg_b64url_decode("Zm9v", 4, out, 3) == 3);
	CHECK(tg_b64url_decode("Zm9v", 4, out, 2) == -1);
	CHECK(tg_b64url_decode("Zm9vYmFy", 8, out, 5) == -1);
	CHECK(tg_b64url_decode("Zg", 2, out, 0) == -1);

	/* the empty string is the empty byte string; NULL is an error */
	CHECK(tg_b64url_decode("", 0, out, sizeof(out)) == 0);
	CHECK(tg_b64url_decode(NULL, 0, out, sizeof(out)) == -1);
	CHECK(tg_b64url_decode("Zg", 2, NULL, 8) == -1);
}

static void
test_hex(void)
{
	static const uint8_t expect[4] = {0xde, 0xad, 0xbe, 0xef};
	static const uint8_t mixed[5] = {0x00, 0x9f, 0xa0, 0x7f, 0xff};
	uint8_t		out[8];

	memset(out, 0, sizeof(out));
	CHECK(tg_hex_decode("deadbeef", 8, out, 4) && memcmp(out, expect, 4) == 0);
	memset(out, 0, sizeof(out));
	CHECK(tg_hex_decode("DEADBEEF", 8, out, 4) && memcmp(out, expect, 4) == 0);
	memset(out, 0, sizeof(out));
	CHECK(tg_hex_decode("DeAdbEeF", 8, out, 4) && memcmp(out, expect, 4) == 0);
	memset(out, 0, sizeof(out));
	CHECK(tg_hex_decode("009FA07fFf", 10, out, 5) && memcmp(out, mixed, 5) == 0);
	CHECK(tg_hex_decode("", 0, out, 0));

	/* odd length */
	CHECK(!tg_hex_decode("abc", 3, out, 1));
	CHECK(!tg_hex_decode("abc", 3, out, 2));
	CHECK(!tg_hex_decode("a", 1, out, 0));
	CHECK(!tg_hex_decode("a", 1, out, 1));

	/* non-hex digits in either nibble, at either end or in the middle */
	CHECK(!tg_hex_decode("g0", 2, out, 1));
	CHECK(!tg_hex_decode("0g", 2, out, 1));
	CHECK(!tg_hex_decode("G0", 2, out, 1));
	CHECK(!tg_hex_decode("0x", 2, out, 1));
	CHECK(!tg_hex_decode("0xdeadbe", 8, out, 4));
	CHECK(!tg_hex_decode("dead beef", 9, out, 4));
	CHECK(!tg_hex_decode("dea beef", 8, out, 4));
	CHECK(!tg_hex_decode(" deadbee", 8, out, 4));
	CHECK(!tg_hex_decode("deadbee\n", 8, out, 4));
	CHECK(!tg_hex_decode("dead:eef", 8, out, 4));
	CHECK(!tg_hex_decode("dead\0eef", 8, out, 4));
	{
		/* the characters just outside each accepted range */
		const char *edges = "/:@G`g[{\x80\xff";
		int			ok = 0;
		size_t		i;

		for (i = 0; edges[i]; i++)
		{
			char		hi[3] = {edges[i], 'a', 0};
			char		lo[3] = {'a', edges[i], 0};

			if (!tg_hex_decode(hi, 2, out, 1) && !tg_hex_decode(lo, 2, out, 1))
				ok++;
			else
				fprintf(stderr, "  hex: accepted byte 0x%02x\n", (unsigned char) edges[i]);
		}
		CHECK(ok == (int) strlen(edges));
	}

	/* wrong length for n */
	CHECK(!tg_hex_decode("deadbeef", 8, out, 3));
	CHECK(!tg_hex_decode("deadbeef", 8, out, 5));
	CHECK(!tg_hex_decode("deadbeef", 6, out, 4));
	CHECK(!tg_hex_decode("deadbeef", 0, out, 4));
	CHECK(!tg_hex_decode(NULL, 8, out, 4));
}

void
test_encoding(void)
{
	CHECK(sodium_init() >= 0);
	test_b64url_vectors();
	test_b64url_round_trips();
	test_b64url_rejects();
	test_hex();
}
