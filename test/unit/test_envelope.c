/* test_envelope.c — XChaCha20-Poly1305 known answer and the sealed-secret envelope. */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include <sodium.h>

#include "unit.h"
#include "core/envelope.h"

/*
 * draft-irtf-cfrg-xchacha-03, appendix A.3.1: AEAD_XChaCha20_Poly1305.
 * This pins the primitive the envelope is built on.
 */
static void
test_xchacha_vector(void)
{
	static const char pt[] =
		"Ladies and Gentlemen of the class of '99: If I could offer you only one tip "
		"for the future, sunscreen would be it.";
	static const char ct_hex[] =
		"bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
		"731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
		"2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
		"21f9664c97637da9768812f615c68b13b52e";
	const size_t ptlen = sizeof(pt) - 1;
	uint8_t		key[32],
				nonce[24],
				ad[12],
				expect[114 + 16],
				ct[114 + 16],
				back[114];
	unsigned long long clen = 0,
				mlen = 0;
	size_t		i;

	CHECK(ptlen == 114);
	for (i = 0; i < 32; i++)
		key[i] = (uint8_t) (0x80 + i);
	for (i = 0; i < 24; i++)
		nonce[i] = (uint8_t) (0x40 + i);
	unit_unhex("50515253c0c1c2c3c4c5c6c7", ad, sizeof(ad));
	unit_unhex(ct_hex, expect, 114);
	unit_unhex("c0875924c1c7987947deafd8780acf49", expect + 114, 16);

	CHECK(crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &clen, (const uint8_t *) pt, ptlen,
													 ad, sizeof(ad), NULL, nonce, key) == 0);
	CHECK(clen == sizeof(ct));
	CHECK(memcmp(ct, expect, 114) == 0);		/* ciphertext */
	CHECK(memcmp(ct + 114, expect + 114, 16) == 0); /* tag */

	CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(back, &mlen, NULL, expect, sizeof(expect),
													 ad, sizeof(ad), nonce, key) == 0);
	CHECK(mlen == ptlen && memcmp(back, pt, ptlen) == 0);

	/* and the primitive does reject a modified tag and modified associated data */
	expect[sizeof(expect) - 1] ^= 0x01;
	CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(back, &mlen, NULL, expect, sizeof(expect),
													 ad, sizeof(ad), nonce, key) != 0);
	expect[sizeof(expect) - 1] ^= 0x01;
	ad[0] ^= 0x80;
	CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(back, &mlen, NULL, expect, sizeof(expect),
													 ad, sizeof(ad), nonce, key) != 0);
}

/* Fixed inputs for the envelope tests. */
static uint8_t key[TG_ENV_KEY_LEN];
static uint8_t tenant[16];
static uint8_t nonce[TG_ENV_NONCE_LEN];

static void
fixtures(void)
{
	size_t		i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t) (0x11 * (i + 1));
	unit_unhex("6ba7b8109dad11d180b400c04fd430c8", tenant, 16);
	for (i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t) (0xa0 + i);
}

static void
test_layout(void)
{
	static const char msg[] = "postgres://app:s3cret@db.internal/acme";
	const size_t n = sizeof(msg) - 1;
	uint8_t		env[sizeof(msg) - 1 + TG_ENV_OVERHEAD],
				ref[sizeof(msg) - 1 + TG_ENV_TAG_LEN],
				pt[sizeof(msg) - 1];
	static const uint8_t ad_expect[TG_ENV_AD_LEN] = {
		0x01, 0x00, 0x01, 0x02, 0x03, 0x04,
		0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
		0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8
	};
	unsigned long long rlen = 0;
	tg_env_header h;
	size_t		ptlen = 0;

	CHECK(TG_ENV_AD_LEN == 22 && TG_ENV_HEADER_LEN == 46 && TG_ENV_OVERHEAD == 62);

	memset(env, 0xcc, sizeof(env));
	CHECK(tg_env_seal_with_nonce(key, 0x01020304, tenant, 0, nonce,
								 (const uint8_t *) msg, n, env));
	/* header: version, flags, big-endian key version, tenant */
	CHECK(memcmp(env, ad_expect, TG_ENV_AD_LEN) == 0);
	/* nonce at offset 22 */
	CHECK(memcmp(env + 22, nonce, TG_ENV_NONCE_LEN) == 0);
	/* body at 46: XChaCha20-Poly1305 of the plaintext with bytes 0..21 as AD */
	CHECK(crypto_aead_xchacha20poly1305_ietf_encrypt(ref, &rlen, (const uint8_t *) msg, n,
													 ad_expect, sizeof(ad_expect), NULL,
													 nonce, key) == 0);
	CHECK(rlen == sizeof(ref) && memcmp(env + 46, ref, sizeof(ref)) == 0);

	memset(&h, 0, sizeof(h));
	CHECK(tg_env_parse(env, sizeof(env), &h));
	CHECK(h.version == 1 && h.flags == 0 && h.key_version == 0x01020304);
	CHECK(memcmp(h.tenant, tenant, 16) == 0);
	CHECK(h.plaintext_len == n);
	CHECK(tg_env_parse(env, sizeof(env), NULL));

	CHECK(tg_env_open(key, env, sizeof(env), pt, &ptlen) == TG_ENV_OK);
	CHECK(ptlen == n && memcmp(pt, msg, n) == 0);
	/* ptlen is optional */
	CHECK(tg_env_open(key, env, sizeof(env), pt, NULL) == TG_ENV_OK);

	/* the bytes flag and a large key version are carried in the header */
	CHECK(tg_env_seal_with_nonce(key, 0xfffffffe, tenant, TG_ENV_FLAG_BYTES, nonce,
								 (const uint8_t *) msg, n, env));
	CHECK(env[1] == 0x01 && env[2] == 0xff && env[3] == 0xff && env[4] == 0xff && env[5] == 0xfe);
	CHECK(tg_env_parse(env, sizeof(env), &h) && h.flags == TG_ENV_FLAG_BYTES &&
		  h.key_version == 0xfffffffe);

	/* invalid arguments to seal */
	CHECK(!tg_env_seal_with_nonce(key, 0, tenant, 0, nonce, (const uint8_t *) msg, n, env));
	CHECK(!tg_env_seal_with_nonce(key, 1, tenant, 0x02, nonce, (const uint8_t *) msg, n, env));
	CHECK(!tg_env_seal_with_nonce(key, 1, tenant, 0x80, nonce, (const uint8_t *) msg, n, env));
	CHECK(!tg_env_seal_with_nonce(NULL, 1, tenant, 0, nonce, (const uint8_t *) msg, n, env));
	CHECK(!tg_env_seal_with_nonce(key, 1, NULL, 0, nonce, (const uint8_t *) msg, n, env));
	CHECK(!tg_env_seal_with_nonce(key, 1, tenant, 0, nonce, (const uint8_t *) msg, n, NULL));
	CHECK(!tg_env_seal_with_nonce(key, 1, tenant, 0, nonce, NULL, 1, env));
	CHECK(!tg_env_seal(key, 1, tenant, 0, (const uint8_t *) msg,
					   TG_ENV_MAX_PLAINTEXT + 1, env));
	CHECK(!tg_env_seal(key, 0, tenant, 0, (const uint8_t *) msg, n, env));
}

static void
test_round_trips(void)
{
	static const size_t lens[] = {0, 1, 100, 1024, 1024 * 1024};
	size_t		i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
	{
		size_t		n = lens[i];
		uint8_t    *pt = malloc(n + 1),
				   *env = malloc(n + TG_ENV_OVERHEAD),
				   *back = malloc(n + 1);
		uint8_t		flags;

		if (pt == NULL || env == NULL || back == NULL)
		{
			CHECK(!"out of memory");
			free(pt);
			free(env);
			free(back);
			return;
		}
		randombytes_buf(pt, n + 1);
		for (flags = 0; flags <= TG_ENV_FLAG_BYTES; flags++)
		{
			tg_env_header h;
			size_t		got = (size_t) -1;
			bool		ok;

			ok = tg_env_seal(key, 7, tenant, flags, pt, n, env);
			ok = ok && tg_env_parse(env, n + TG_ENV_OVERHEAD, &h) &&
				h.version == 1 && h.flags == flags && h.key_version == 7 &&
				memcmp(h.tenant, tenant, 16) == 0 && h.plaintext_len == n;
			memset(back, 0xee, n + 1);
			ok = ok && tg_env_open(key, env, n + TG_ENV_OVERHEAD, back, &got) == TG_ENV_OK &&
				got == n && memcmp(back, pt, n) == 0 && back[n] == 0xee;
			if (!ok)
				fprintf(stderr, "  envelope: round trip of %zu bytes, flags %u\n", n, flags);
			CHECK(ok);
		}
		free(pt);
		free(env);
		free(back);
	}

	/* an empty plaintext may be given as NULL */
	{
		uint8_t		env[TG_ENV_OVERHEAD],
					back[1];
		size_t		got = 99;

		CHECK(tg_env_seal(key, 1, tenant, 0, NULL, 0, env));
		CHECK(tg_env_open(key, env, sizeof(env), back, &got) == TG_ENV_OK && got == 0);
	}
}

static void
test_parse_rejects(void)
{
	uint8_t		env[TG_ENV_OVERHEAD + 4],
				good[TG_ENV_OVERHEAD + 4];
	tg_env_header h;

	CHECK(tg_env_seal_with_nonce(key, 1, tenant, 0, nonce, (const uint8_t *) "abcd", 4, good));
	CHECK(tg_env_parse(good, sizeof(good), &h));
	/* the shortest envelope (empty plaintext) parses, one byte less does not */
	CHECK(tg_env_parse(good, TG_ENV_OVERHEAD, &h) && h.plaintext_len == 0);
	CHECK(!tg_env_parse(good, TG_ENV_OVERHEAD - 1, &h));
	CHECK(!tg_env_parse(good, 1, &h));
	CHECK(!tg_env_parse(good, 0, &h));
	CHECK(!tg_env_parse(NULL, sizeof(good), &h));
	/* the largest allowed plaintext, and one byte more (only the header is read) */
	CHECK(tg_env_parse(good, TG_ENV_MAX_PLAINTEXT + TG_ENV_OVERHEAD, &h) &&
		  h.plaintext_len == TG_ENV_MAX_PLAINTEXT);
	CHECK(!tg_env_parse(good, TG_ENV_MAX_PLAINTEXT + TG_ENV_OVERHEAD + 1, &h));
	CHECK(!tg_env_parse(good, SIZE_MAX, &h));

	/* version */
	memcpy(env, good, sizeof(env));
	env[0] = 0;
	CHECK(!tg_env_parse(env, sizeof(env), &h));
	env[0] = 2;
	CHECK(!tg_env_parse(env, sizeof(env), &h));
	env[0] = 0xff;
	CHECK(!tg_env_parse(env, sizeof(env), &h));

	/* unknown flag bits */
	memcpy(env, good, sizeof(env));
	env[1] = 0x02;
	CHECK(!tg_env_parse(env, sizeof(env), &h));
	env[1] = 0x03;
	CHECK(!tg_env_parse(env, sizeof(env), &h));
	env[1] = 0x80;
	CHECK(!tg_env_parse(env, sizeof(env), &h));
	env[1] = 0x01;
	CHECK(tg_env_parse(env, sizeof(env), &h) && h.flags == 1);

	/* key version 0 */
	memcpy(env, good, sizeof(env));
	env[5] = 0;
	CHECK(!tg_env_parse(env, sizeof(env), &h));
	env[2] = 0x80;
	CHECK(tg_env_parse(env, sizeof(env), &h) && h.key_version == 0x80000000u);
}

/* Expected result of opening the envelope with bit `bit` of byte `pos` flipped. */
static tg_env_result
expected_after_flip(const uint8_t *env, size_t pos, int bit)
{
	uint8_t		b = (uint8_t) (env[pos] ^ (1u << bit));

	if (pos == 0)
		return TG_ENV_MALFORMED;	/* the version is no longer 1 */
	if (pos == 1)
		return (b & ~TG_ENV_FLAG_BYTES) ? TG_ENV_MALFORMED : TG_ENV_FORGED;
	if (pos >= 2 && pos <= 5)
	{
		uint8_t		kv[4];

		memcpy(kv, env + 2, 4);
		kv[pos - 2] = b;
		if (kv[0] == 0 && kv[1] == 0 && kv[2] == 0 && kv[3] == 0)
			return TG_ENV_MALFORMED;
	}
	return TG_ENV_FORGED;
}

static void
test_tampering(uint32_t key_version, size_t n)
{
	uint8_t    *good = malloc(n + TG_ENV_OVERHEAD),
			   *env = malloc(n + TG_ENV_OVERHEAD),
			   *pt = malloc(n + 1);
	const size_t len = n + TG_ENV_OVERHEAD;
	size_t		pos;
	int			ok_header = 0,
				ok_nonce = 0,
				ok_body = 0;

	if (good == NULL || env == NULL || pt == NULL)
	{
		CHECK(!"out of memory");
		free(good);
		free(env);
		free(pt);
		return;
	}
	memset(pt, 'p', n);
	CHECK(tg_env_seal(key, key_version, tenant, 0, pt, n, good));

	for (pos = 0; pos < len; pos++)
	{
		int			bit;
		bool		ok = true;

		for (bit = 0; bit < 8; bit++)
		{
			tg_env_result want = expected_after_flip(good, pos, bit),
						got;
			size_t		ptlen = 0;

			memcpy(env, good, len);
			env[pos] ^= (uint8_t) (1u << bit);
			memset(pt, 0xaa, n + 1);
			got = tg_env_open(key, env, len, pt, &ptlen);
			if (got != want ||
				(got == TG_ENV_FORGED && !unit_all_bytes(pt, n, 0)) || pt[n] != 0xaa)
			{
				fprintf(stderr, "  envelope (kv %u, %zu bytes): flip of byte %zu bit %d gave %d, want %d\n",
						key_version, n, pos, bit, (int) got, (int) want);
				ok = false;
			}
		}
		if (pos < TG_ENV_AD_LEN)
			ok_header += ok;
		else if (pos < TG_ENV_HEADER_LEN)
			ok_nonce += ok;
		else
			ok_body += ok;
	}
	CHECK(ok_header == TG_ENV_AD_LEN);
	CHECK(ok_nonce == TG_ENV_NONCE_LEN);
	CHECK(ok_body == (int) (n + TG_ENV_TAG_LEN));

	/* moving the ciphertext to another tenant or key version */
	memcpy(env, good, len);
	env[6 + 15] ^= 0x01;
	CHECK(tg_env_open(key, env, len, pt, NULL) == TG_ENV_FORGED);
	memcpy(env, good, len);
	env[5] ^= 0x02;
	CHECK(tg_env_open(key, env, len, pt, NULL) == TG_ENV_FORGED);

	/* wrong key: output wiped */
	{
		uint8_t		other[TG_ENV_KEY_LEN];

		memcpy(other, key, sizeof(other));
		other[31] ^= 0x80;
		memset(pt, 0xaa, n + 1);
		CHECK(tg_env_open(other, good, len, pt, NULL) == TG_ENV_FORGED && unit_all_bytes(pt, n, 0));
	}

	/* truncated (and extended) envelopes */
	{
		size_t		cut;
		int			ok_cut = 0;
		uint8_t    *longer = malloc(len + 1);

		for (cut = 0; cut < len; cut++)
		{
			tg_env_result want = cut < TG_ENV_OVERHEAD ? TG_ENV_MALFORMED : TG_ENV_FORGED;

			memset(pt, 0xaa, n + 1);
			if (tg_env_open(key, good, cut, pt, NULL) == want &&
				(want != TG_ENV_FORGED || unit_all_bytes(pt, cut - TG_ENV_OVERHEAD, 0)))
				ok_cut++;
			else
				fprintf(stderr, "  envelope: truncation to %zu bytes\n", cut);
		}
		CHECK(ok_cut == (int) len);
		if (longer != NULL)
		{
			memcpy(longer, good, len);
			longer[len] = 0;
			CHECK(tg_env_open(key, longer, len + 1, pt, NULL) == TG_ENV_FORGED);
			free(longer);
		}
	}

	/* still opens after all that */
	CHECK(tg_env_open(key, good, len, pt, NULL) == TG_ENV_OK);

	/* a missing output buffer is an argument error */
	CHECK(tg_env_open(key, good, len, NULL, NULL) == TG_ENV_MALFORMED);
	CHECK(tg_env_open(NULL, good, len, pt, NULL) == TG_ENV_MALFORMED);

	free(good);
	free(env);
	free(pt);
}

static void
test_fresh_nonces(void)
{
	static const char msg[] = "same plaintext";
	uint8_t		a[sizeof(msg) - 1 + TG_ENV_OVERHEAD],
				b[sizeof(msg) - 1 + TG_ENV_OVERHEAD],
				pt[sizeof(msg)];

	CHECK(tg_env_seal(key, 1, tenant, 0, (const uint8_t *) msg, sizeof(msg) - 1, a));
	CHECK(tg_env_seal(key, 1, tenant, 0, (const uint8_t *) msg, sizeof(msg) - 1, b));
	CHECK(memcmp(a, b, TG_ENV_AD_LEN) == 0);
	CHECK(memcmp(a + TG_ENV_AD_LEN, b + TG_ENV_AD_LEN, TG_ENV_NONCE_LEN) != 0);
	CHECK(memcmp(a + TG_ENV_HEADER_LEN, b + TG_ENV_HEADER_LEN, sizeof(a) - TG_ENV_HEADER_LEN) != 0);
	CHECK(tg_env_open(key, a, sizeof(a), pt, NULL) == TG_ENV_OK);
	CHECK(tg_env_open(key, b, sizeof(b), pt, NULL) == TG_ENV_OK &&
		  memcmp(pt, msg, sizeof(msg) - 1) == 0);

	/* with a fixed nonce, sealing is deterministic */
	CHECK(tg_env_seal_with_nonce(key, 1, tenant, 0, nonce, (const uint8_t *) msg, sizeof(msg) - 1, a));
	CHECK(tg_env_seal_with_nonce(key, 1, tenant, 0, nonce, (const uint8_t *) msg, sizeof(msg) - 1, b));
	CHECK(memcmp(a, b, sizeof(a)) == 0);
}

void
test_envelope(void)
{
	CHECK(sodium_init() >= 0);
	fixtures();
	test_xchacha_vector();
	test_layout();
	test_round_trips();
	test_parse_rejects();
	test_tampering(1, 0);
	test_tampering(1, 33);
	test_tampering(0x01020304, 100);
	test_fresh_nonces();
}
