/* test_keys.c — BLAKE2b known answer and the key hierarchy (master, data, tenant, index keys). */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include <sodium.h>

#include "unit.h"
#include "core/keys.h"

static const char master_hex[] =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static uint8_t master[TG_KEY_LEN];		/* 00 01 .. 1f */
static uint8_t data_key[TG_KEY_LEN];	/* 20 21 .. 3f */
static uint8_t index_key[TG_KEY_LEN];	/* 40 41 .. 5f */
static uint8_t tenant1[16];
static uint8_t tenant2[16];

static void
fixtures(void)
{
	size_t		i;

	for (i = 0; i < TG_KEY_LEN; i++)
	{
		master[i] = (uint8_t) i;
		data_key[i] = (uint8_t) (0x20 + i);
		index_key[i] = (uint8_t) (0x40 + i);
	}
	unit_unhex("6ba7b8109dad11d180b400c04fd430c8", tenant1, 16);
	unit_unhex("6ba7b8119dad11d180b400c04fd430c8", tenant2, 16);
}

/* RFC 7693 appendix A: BLAKE2b-512("abc"). */
static void
test_blake2b_vector(void)
{
	uint8_t		expect[64],
				out[64];

	unit_unhex("ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
		  "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
		  expect, 64);
	memset(out, 0, sizeof(out));
	CHECK(crypto_generichash(out, 64, (const uint8_t *) "abc", 3, NULL, 0) == 0);
	CHECK(memcmp(out, expect, 64) == 0);
	/* incremental interface gives the same digest */
	{
		crypto_generichash_state st;

		memset(out, 0, sizeof(out));
		CHECK(crypto_generichash_init(&st, NULL, 0, 64) == 0 &&
			  crypto_generichash_update(&st, (const uint8_t *) "a", 1) == 0 &&
			  crypto_generichash_update(&st, (const uint8_t *) "bc", 2) == 0 &&
			  crypto_generichash_final(&st, out, 64) == 0);
		CHECK(memcmp(out, expect, 64) == 0);
	}
	/* the key ids use an 8-byte output: libsodium accepts it */
	CHECK(crypto_generichash(out, TG_KEY_ID_LEN, (const uint8_t *) "abc", 3, NULL, 0) == 0);
}

static bool
parses_to_master(const char *text, size_t len)
{
	uint8_t		out[TG_KEY_LEN];

	memset(out, 0xee, sizeof(out));
	return tg_master_key_parse(text, len, out) && memcmp(out, master, TG_KEY_LEN) == 0;
}

static bool
rejected(const char *text, size_t len)
{
	uint8_t		out[TG_KEY_LEN];

	return !tg_master_key_parse(text, len, out);
}

static void
test_master_key_parse(void)
{
	char		buf[160];
	char		upper[65];
	size_t		i;

	/* exactly 64 hex digits, optionally followed by whitespace */
	CHECK(parses_to_master(master_hex, 64));
	memcpy(buf, master_hex, 64);
	memcpy(buf + 64, "\n", 1);
	CHECK(parses_to_master(buf, 65));
	memcpy(buf + 64, "\r\n", 2);
	CHECK(parses_to_master(buf, 66));
	memcpy(buf + 64, " ", 1);
	CHECK(parses_to_master(buf, 65));
	memcpy(buf + 64, " \t\n\n", 4);
	CHECK(parses_to_master(buf, 68));
	for (i = 0; i < 64; i++)
		upper[i] = (master_hex[i] >= 'a' && master_hex[i] <= 'f') ?
			(char) (master_hex[i] - 'a' + 'A') : master_hex[i];
	upper[64] = '\n';
	CHECK(parses_to_master(upper, 65));

	/* the length given is respected (text beyond it is not looked at) */
	memcpy(buf, master_hex, 64);
	memcpy(buf + 64, "junk", 4);
	CHECK(parses_to_master(buf, 64));

	/* 63 and 65 digits */
	CHECK(rejected(master_hex, 63));
	memcpy(buf, master_hex, 63);
	buf[63] = '\n';
	CHECK(rejected(buf, 64));
	memcpy(buf, master_hex, 64);
	buf[64] = '0';
	CHECK(rejected(buf, 65));
	buf[65] = '\n';
	CHECK(rejected(buf, 66));
	/* 128 digits (two keys) */
	memcpy(buf + 64, master_hex, 64);
	CHECK(rejected(buf, 128));

	/* a non-hex digit at the start, middle and end */
	for (i = 0; i < 64; i += 21)
	{
		memcpy(buf, master_hex, 64);
		buf[i] = 'g';
		CHECK(rejected(buf, 64));
	}
	memcpy(buf, master_hex, 64);
	buf[63] = 'x';
	CHECK(rejected(buf, 64));

	/* leading whitespace, a 0x prefix, embedded junk */
	buf[0] = ' ';
	memcpy(buf + 1, master_hex, 64);
	CHECK(rejected(buf, 65));
	buf[0] = '\n';
	CHECK(rejected(buf, 65));
	memcpy(buf, "0x", 2);
	memcpy(buf + 2, master_hex, 64);
	CHECK(rejected(buf, 66));
	memcpy(buf, master_hex, 32);
	buf[32] = ' ';
	memcpy(buf + 33, master_hex + 32, 32);
	CHECK(rejected(buf, 65));
	memcpy(buf, master_hex, 64);
	buf[30] = ':';
	CHECK(rejected(buf, 64));
	memcpy(buf, master_hex, 64);
	memcpy(buf + 64, "\nx", 2);
	CHECK(rejected(buf, 66));
	memcpy(buf + 64, "\n\0", 2);
	CHECK(rejected(buf, 66));
	memcpy(buf + 64, "\v", 1);
	CHECK(rejected(buf, 65));
	memcpy(buf, master_hex, 64);
	buf[10] = '\0';
	CHECK(rejected(buf, 64));

	CHECK(rejected("", 0));
	CHECK(rejected(NULL, 64));
}

static void
test_key_id(void)
{
	uint8_t		a[TG_KEY_ID_LEN],
				b[TG_KEY_ID_LEN],
				expect[TG_KEY_ID_LEN],
				other[TG_KEY_LEN];

	memset(a, 0x00, sizeof(a));
	memset(b, 0xff, sizeof(b));
	tg_key_id(master, a);
	tg_key_id(master, b);
	CHECK(memcmp(a, b, sizeof(a)) == 0);
	CHECK(memcmp(a, master, sizeof(a)) != 0);

	/*
	 * Regression vector, computed with the implementation when this test was
	 * written: key ids are stored next to wrapped keys, so a change here
	 * breaks existing key rings.
	 */
	unit_unhex("28ce34b7f54e7a2d", expect, sizeof(expect));
	CHECK(memcmp(a, expect, sizeof(a)) == 0);

	memcpy(other, master, sizeof(other));
	other[0] ^= 0x01;
	tg_key_id(other, b);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	tg_key_id(data_key, b);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
}

static bool
unwrap_fails_and_wipes(const uint8_t *kek, char purpose, uint32_t version,
					   const uint8_t *wrapped, size_t len)
{
	uint8_t		out[TG_KEY_LEN];

	memset(out, 0xaa, sizeof(out));
	if (tg_key_unwrap(kek, purpose, version, wrapped, len, out))
		return false;
	return unit_all_bytes(out, sizeof(out), 0);
}

static void
test_wrap(void)
{
	uint8_t		w[TG_WRAPPED_LEN],
				w2[TG_WRAPPED_LEN],
				t[TG_WRAPPED_LEN + 1],
				out[TG_KEY_LEN],
				other[TG_KEY_LEN];
	size_t		pos;
	int			ok_nonce = 0,
				ok_ct = 0,
				ok_tag = 0;

	CHECK(TG_WRAPPED_LEN == 72);

	/* round trips for both purposes and extreme versions */
	memset(out, 0, sizeof(out));
	CHECK(tg_key_wrap(master, 'd', 1, data_key, w));
	CHECK(tg_key_unwrap(master, 'd', 1, w, sizeof(w), out) && memcmp(out, data_key, TG_KEY_LEN) == 0);
	memset(out, 0, sizeof(out));
	CHECK(tg_key_wrap(master, 'i', 0xffffffffu, index_key, w2));
	CHECK(tg_key_unwrap(master, 'i', 0xffffffffu, w2, sizeof(w2), out) &&
		  memcmp(out, index_key, TG_KEY_LEN) == 0);

	/* the key does not appear in the wrapping, and two wrappings differ */
	CHECK(memcmp(w + 24, data_key, TG_KEY_LEN) != 0);
	CHECK(tg_key_wrap(master, 'd', 1, data_key, w2));
	CHECK(memcmp(w, w2, 24) != 0 && memcmp(w + 24, w2 + 24, TG_WRAPPED_LEN - 24) != 0);
	CHECK(tg_key_unwrap(master, 'd', 1, w2, sizeof(w2), out) && memcmp(out, data_key, TG_KEY_LEN) == 0);

	/* wrong KEK, version, purpose */
	memcpy(other, master, sizeof(other));
	other[17] ^= 0x40;
	CHECK(unwrap_fails_and_wipes(other, 'd', 1, w, sizeof(w)));
	CHECK(unwrap_fails_and_wipes(data_key, 'd', 1, w, sizeof(w)));
	CHECK(unwrap_fails_and_wipes(master, 'd', 2, w, sizeof(w)));
	CHECK(unwrap_fails_and_wipes(master, 'd', 0, w, sizeof(w)));
	CHECK(unwrap_fails_and_wipes(master, 'd', 0x01000001u, w, sizeof(w)));
	CHECK(unwrap_fails_and_wipes(master, 'i', 1, w, sizeof(w)));
	CHECK(unwrap_fails_and_wipes(master, 'D', 1, w, sizeof(w)));

	/* any flipped bit in nonce (0..23), ciphertext (24..55) or tag (56..71) */
	for (pos = 0; pos < TG_WRAPPED_LEN; pos++)
	{
		int			bit;
		bool		ok = true;

		for (bit = 0; bit < 8; bit++)
		{
			memcpy(t, w, TG_WRAPPED_LEN);
			t[pos] ^= (uint8_t) (1u << bit);
			if (!unwrap_fails_and_wipes(master, 'd', 1, t, TG_WRAPPED_LEN))
			{
				fprintf(stderr, "  keys: unwrap accepted flip of byte %zu bit %d\n", pos, bit);
				ok = false;
			}
		}
		if (pos < 24)
			ok_nonce += ok;
		else if (pos < 24 + TG_KEY_LEN)
			ok_ct += ok;
		else
			ok_tag += ok;
	}
	CHECK(ok_nonce == 24);
	CHECK(ok_ct == TG_KEY_LEN);
	CHECK(ok_tag == 16);

	/* wrong length */
	memcpy(t, w, TG_WRAPPED_LEN);
	t[TG_WRAPPED_LEN] = 0;
	CHECK(!tg_key_unwrap(master, 'd', 1, t, TG_WRAPPED_LEN - 1, out));
	CHECK(!tg_key_unwrap(master, 'd', 1, t, TG_WRAPPED_LEN + 1, out));
	CHECK(!tg_key_unwrap(master, 'd', 1, t, 0, out));
	CHECK(!tg_key_unwrap(master, 'd', 1, NULL, TG_WRAPPED_LEN, out));
	/*
	 * keys.h promises the output is wiped on failure; tg_key_unwrap returns
	 * early without wiping when the length is wrong or wrapped is NULL.
	 */
	CHECK(unwrap_fails_and_wipes(master, 'd', 1, t, TG_WRAPPED_LEN - 1));
	CHECK(unwrap_fails_and_wipes(master, 'd', 1, t, TG_WRAPPED_LEN + 1));
	CHECK(unwrap_fails_and_wipes(master, 'd', 1, t, 0));
	CHECK(unwrap_fails_and_wipes(master, 'd', 1, NULL, TG_WRAPPED_LEN));

	/* the original still unwraps */
	CHECK(tg_key_unwrap(master, 'd', 1, w, sizeof(w), out) && memcmp(out, data_key, TG_KEY_LEN) == 0);
}

static void
test_tenant_keys(void)
{
	uint8_t		a[TG_KEY_LEN],
				b[TG_KEY_LEN],
				c[TG_KEY_LEN],
				expect[TG_KEY_LEN],
				other[TG_KEY_LEN];
	uint8_t		msg[sizeof("tenantguard/tenant-key/v1") + 16];

	memset(b, 0, sizeof(b));
	tg_derive_tenant_key(data_key, tenant1, a);
	tg_derive_tenant_key(data_key, tenant1, b);
	CHECK(memcmp(a, b, TG_KEY_LEN) == 0);
	CHECK(memcmp(a, data_key, TG_KEY_LEN) != 0);

	/* as documented in keys.h: BLAKE2b-256(key = data key, label 0x00 tenant) */
	memcpy(msg, "tenantguard/tenant-key/v1", sizeof("tenantguard/tenant-key/v1"));
	memcpy(msg + sizeof("tenantguard/tenant-key/v1"), tenant1, 16);
	CHECK(crypto_generichash(expect, TG_KEY_LEN, msg, sizeof(msg), data_key, TG_KEY_LEN) == 0);
	CHECK(memcmp(a, expect, TG_KEY_LEN) == 0);
	/* regression vector (stored envelopes depend on it) */
	unit_unhex("7b1a4edef08479e4dd02dcc2a1de022d7836e73cd308aa0acc7889ad36ec5474", expect, TG_KEY_LEN);
	CHECK(memcmp(a, expect, TG_KEY_LEN) == 0);

	/* per tenant, per data key */
	tg_derive_tenant_key(data_key, tenant2, b);
	CHECK(memcmp(a, b, TG_KEY_LEN) != 0);
	memcpy(other, data_key, sizeof(other));
	other[31] ^= 0x01;
	tg_derive_tenant_key(other, tenant1, c);
	CHECK(memcmp(a, c, TG_KEY_LEN) != 0);
	CHECK(memcmp(b, c, TG_KEY_LEN) != 0);
	tg_derive_tenant_key(index_key, tenant1, c);
	CHECK(memcmp(a, c, TG_KEY_LEN) != 0);
}

static void
bidx(const uint8_t *ikey, const uint8_t *tenant, const char *purpose, const char *value,
	 uint8_t out[TG_BLIND_INDEX_LEN])
{
	memset(out, 0, TG_BLIND_INDEX_LEN);
	tg_blind_index(ikey, tenant, purpose, strlen(purpose),
				   (const uint8_t *) value, strlen(value), out);
}

static void
test_blind_index(void)
{
	uint8_t		a[TG_BLIND_INDEX_LEN],
				b[TG_BLIND_INDEX_LEN],
				expect[TG_BLIND_INDEX_LEN],
				other[TG_KEY_LEN];

	bidx(index_key, tenant1, "email", "alice@example.com", a);
	bidx(index_key, tenant1, "email", "alice@example.com", b);
	CHECK(memcmp(a, b, sizeof(a)) == 0);
	/* regression vector (stored indexes depend on it) */
	unit_unhex("008af93ff749c34fb10c08fb35da32249170eb033b0602e5a009e2ae61f0d301", expect, sizeof(expect));
	CHECK(memcmp(a, expect, sizeof(a)) == 0);

	/* per tenant, purpose, value, index key */
	bidx(index_key, tenant2, "email", "alice@example.com", b);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	bidx(index_key, tenant1, "phone", "alice@example.com", b);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	bidx(index_key, tenant1, "email", "alice@example.org", b);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	bidx(index_key, tenant1, "email", "Alice@example.com", b);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	memcpy(other, index_key, sizeof(other));
	other[0] ^= 0x01;
	bidx(other, tenant1, "email", "alice@example.com", b);
	CHECK(memcmp(a, b, sizeof(a)) != 0);

	/* the purpose/value boundary is unambiguous */
	bidx(index_key, tenant1, "ab", "c", a);
	bidx(index_key, tenant1, "a", "bc", b);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	bidx(index_key, tenant1, "", "abc", a);
	bidx(index_key, tenant1, "abc", "", b);
	CHECK(memcmp(a, b, sizeof(a)) != 0);

	/* an empty value has an index, distinct from a NUL byte */
	bidx(index_key, tenant1, "email", "", a);
	memset(b, 0, sizeof(b));
	tg_blind_index(index_key, tenant1, "email", 5, (const uint8_t *) "", 1, b);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK(!unit_all_bytes(a, sizeof(a), 0));

	/* the index is not the tenant key */
	tg_derive_tenant_key(index_key, tenant1, b);
	bidx(index_key, tenant1, "", "", a);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
}

void
test_keys(void)
{
	CHECK(sodium_init() >= 0);
	fixtures();
	test_blake2b_vector();
	test_master_key_parse();
	test_key_id();
	test_wrap();
	test_tenant_keys();
	test_blind_index();
}
