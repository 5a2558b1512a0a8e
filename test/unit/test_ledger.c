/*
 * test_ledger.c — the audit ledger's hashing and signing (src/core/ledger.c):
 * SHA-256 and Ed25519 known answers (FIPS 180-2, RFC 8032 7.1 TEST 1), then
 * the event hash's canonical encoding, the events root, the block hash and
 * the signing key derived from the master key.
 */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include <sodium.h>

#include "unit.h"
#include "core/ledger.h"

static bool
hash_eq(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, TG_HASH_LEN) == 0;
}

static tg_hash_field
fld(const char *s)
{
	tg_hash_field f;

	f.data = (const uint8_t *) s;
	f.len = s ? strlen(s) : 0;
	f.isnull = (s == NULL);
	return f;
}

/* FIPS 180-2 B.1: SHA-256("abc"), the building block of every ledger hash. */
static void
test_sha256_vector(void)
{
	uint8_t		want[32],
				got[32];
	crypto_hash_sha256_state st;

	unit_unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, 32);
	/* the ledger's own SHA-256 (OpenSSL) */
	memset(got, 0, sizeof(got));
	CHECK(tg_sha256((const uint8_t *) "abc", 3, got));
	CHECK(memcmp(got, want, 32) == 0);
	/* FIPS 180-2 B.2 (two blocks) */
	{
		const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
		uint8_t		want2[32];

		unit_unhex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", want2, 32);
		CHECK(tg_sha256((const uint8_t *) m, strlen(m), got));
		CHECK(memcmp(got, want2, 32) == 0);
	}
	/* libsodium agrees: the unit tests below use it as an independent reference */
	crypto_hash_sha256(got, (const uint8_t *) "abc", 3);
	CHECK(memcmp(got, want, 32) == 0);
	/* incremental form, as tg_event_hash uses it */
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *) "a", 1);
	crypto_hash_sha256_update(&st, (const uint8_t *) "bc", 2);
	crypto_hash_sha256_final(&st, got);
	CHECK(memcmp(got, want, 32) == 0);
}

/* RFC 8032 section 7.1, TEST 1 (empty message). */
static void
test_ed25519_vector(void)
{
	uint8_t		seed[32],
				want_pk[32],
				want_sig[64],
				pk[32],
				sk[64],
				sig[64];
	unsigned long long siglen = 0;

	unit_unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, 32);
	unit_unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", want_pk, 32);
	unit_unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
				 want_sig, 64);
	CHECK(crypto_sign_seed_keypair(pk, sk, seed) == 0);
	CHECK(memcmp(pk, want_pk, 32) == 0);
	CHECK(crypto_sign_detached(sig, &siglen, (const uint8_t *) "", 0, sk) == 0);
	CHECK(siglen == 64);
	CHECK(memcmp(sig, want_sig, 64) == 0);
	CHECK(crypto_sign_verify_detached(want_sig, (const uint8_t *) "", 0, want_pk) == 0);
	sig[0] ^= 1;
	CHECK(crypto_sign_verify_detached(sig, (const uint8_t *) "", 0, want_pk) != 0);
}

/* The event hash, recomputed by hand from the documented encoding. */
static void
test_event_hash_encoding(void)
{
	tg_hash_field f[3];
	uint8_t		got[TG_HASH_LEN],
				want[TG_HASH_LEN];
	crypto_hash_sha256_state st;
	static const uint8_t enc[] = {
		1, 0, 0, 0, 2, 'i', 'd',	/* "id" */
		0,						/* NULL */
		1, 0, 0, 0, 0			/* "" */
	};

	f[0] = fld("id");
	f[1] = fld(NULL);
	f[2] = fld("");
	tg_event_hash(f, 3, got);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *) "tenantguard-event-v1", 20);
	crypto_hash_sha256_update(&st, enc, sizeof(enc));
	crypto_hash_sha256_final(&st, want);
	CHECK(hash_eq(got, want));
}

static void
test_event_hash(void)
{
	const char *base[5] = {"42", "1700000000000000", "data", "insert", "{\"a\": 1}"};
	tg_hash_field f[5],
				g[5];
	uint8_t		h1[TG_HASH_LEN],
				h2[TG_HASH_LEN],
				h3[TG_HASH_LEN];
	int			i;
	bool		all_differ = true;
	char		mutated[5][32];

	for (i = 0; i < 5; i++)
		f[i] = fld(base[i]);
	tg_event_hash(f, 5, h1);
	tg_event_hash(f, 5, h2);
	CHECK(hash_eq(h1, h2));		/* deterministic */

	/* changing any one field (one character) changes the hash */
	for (i = 0; i < 5; i++)
	{
		memcpy(g, f, sizeof(f));
		snprintf(mutated[i], sizeof(mutated[i]), "%s", base[i]);
		mutated[i][0] ^= 1;
		g[i] = fld(mutated[i]);
		tg_event_hash(g, 5, h3);
		if (hash_eq(h1, h3))
			all_differ = false;
	}
	CHECK(all_differ);

	/* a field set to NULL changes the hash */
	all_differ = true;
	for (i = 0; i < 5; i++)
	{
		memcpy(g, f, sizeof(f));
		g[i] = fld(NULL);
		tg_event_hash(g, 5, h3);
		if (hash_eq(h1, h3))
			all_differ = false;
	}
	CHECK(all_differ);

	/* NULL is not the empty string */
	g[0] = fld(NULL);
	tg_event_hash(g, 1, h2);
	g[0] = fld("");
	tg_event_hash(g, 1, h3);
	CHECK(!hash_eq(h2, h3));

	/* an isnull field ignores whatever data/len it carries */
	g[0].data = (const uint8_t *) "junk";
	g[0].len = 4;
	g[0].isnull = true;
	tg_event_hash(g, 1, h3);
	CHECK(hash_eq(h2, h3));

	/* field boundaries: ("ab","c") vs ("a","bc") vs ("abc") vs ("abc","") */
	g[0] = fld("ab");
	g[1] = fld("c");
	tg_event_hash(g, 2, h1);
	g[0] = fld("a");
	g[1] = fld("bc");
	tg_event_hash(g, 2, h2);
	CHECK(!hash_eq(h1, h2));
	g[0] = fld("abc");
	tg_event_hash(g, 1, h3);
	CHECK(!hash_eq(h1, h3) && !hash_eq(h2, h3));
	g[0] = fld("abc");
	g[1] = fld("");
	tg_event_hash(g, 2, h2);
	CHECK(!hash_eq(h2, h3));
	/* a trailing NULL field is not the same as fewer fields */
	g[1] = fld(NULL);
	tg_event_hash(g, 2, h2);
	CHECK(!hash_eq(h2, h3));

	/* field order matters */
	g[0] = fld("x");
	g[1] = fld("y");
	tg_event_hash(g, 2, h1);
	g[0] = fld("y");
	g[1] = fld("x");
	tg_event_hash(g, 2, h2);
	CHECK(!hash_eq(h1, h2));

	/* embedded NUL bytes are data, not terminators */
	g[0].data = (const uint8_t *) "a\0b";
	g[0].len = 3;
	g[0].isnull = false;
	tg_event_hash(g, 1, h1);
	g[0].data = (const uint8_t *) "a\0c";
	tg_event_hash(g, 1, h2);
	CHECK(!hash_eq(h1, h2));

	/* zero fields hash to SHA-256 of the label alone */
	tg_event_hash(g, 0, h1);
	crypto_hash_sha256(h2, (const uint8_t *) "tenantguard-event-v1", 20);
	CHECK(hash_eq(h1, h2));
}

static void
test_root(void)
{
	uint8_t		e1[TG_HASH_LEN],
				e2[TG_HASH_LEN],
				e3[TG_HASH_LEN];
	uint8_t		r12[TG_HASH_LEN],
				r21[TG_HASH_LEN],
				r12b[TG_HASH_LEN],
				r1[TG_HASH_LEN],
				r123[TG_HASH_LEN],
				r0[TG_HASH_LEN],
				r0b[TG_HASH_LEN];
	tg_root_state s;

	memset(e1, 0x11, sizeof(e1));
	memset(e2, 0x22, sizeof(e2));
	memset(e3, 0x33, sizeof(e3));

	tg_root_init(&s);
	tg_root_add(&s, e1);
	tg_root_add(&s, e2);
	CHECK(s.count == 2);
	tg_root_final(&s, r12);

	tg_root_init(&s);
	tg_root_add(&s, e1);
	tg_root_add(&s, e2);
	tg_root_final(&s, r12b);
	CHECK(hash_eq(r12, r12b));	/* deterministic */

	tg_root_init(&s);
	tg_root_add(&s, e2);
	tg_root_add(&s, e1);
	tg_root_final(&s, r21);
	CHECK(!hash_eq(r12, r21));	/* order-sensitive */

	tg_root_init(&s);
	tg_root_add(&s, e1);
	tg_root_final(&s, r1);
	CHECK(!hash_eq(r12, r1));	/* a dropped event changes the root */

	tg_root_init(&s);
	tg_root_add(&s, e1);
	tg_root_add(&s, e2);
	tg_root_add(&s, e3);
	CHECK(s.count == 3);
	tg_root_final(&s, r123);
	CHECK(!hash_eq(r12, r123));	/* an added event changes the root */

	tg_root_init(&s);
	CHECK(s.count == 0);
	tg_root_final(&s, r0);
	crypto_hash_sha256(r0b, (const uint8_t *) "tenantguard-root-v1", 19);
	CHECK(hash_eq(r0, r0b));	/* empty root = SHA-256(label) */
	CHECK(!hash_eq(r0, r1));

	/* a replaced event changes the root */
	e2[31] ^= 0x80;
	tg_root_init(&s);
	tg_root_add(&s, e1);
	tg_root_add(&s, e2);
	tg_root_final(&s, r12b);
	CHECK(!hash_eq(r12, r12b));
}

static void
test_block_hash(void)
{
	uint8_t		root[TG_HASH_LEN],
				prev[TG_HASH_LEN],
				root2[TG_HASH_LEN],
				prev2[TG_HASH_LEN];
	uint8_t		h[TG_HASH_LEN],
				h2[TG_HASH_LEN],
				x[8][TG_HASH_LEN];
	int			i,
				j;
	bool		distinct = true;

	memset(root, 0xaa, sizeof(root));
	memset(prev, 0xbb, sizeof(prev));
	memcpy(root2, root, sizeof(root));
	root2[0] ^= 1;
	memcpy(prev2, prev, sizeof(prev));
	prev2[31] ^= 1;

	tg_block_hash(7, 1000, 2000, 12, root, prev, h);
	tg_block_hash(7, 1000, 2000, 12, root, prev, h2);
	CHECK(hash_eq(h, h2));		/* deterministic */

	tg_block_hash(8, 1000, 2000, 12, root, prev, x[0]);
	tg_block_hash(7, 1001, 2000, 12, root, prev, x[1]);
	tg_block_hash(7, 1000, 2001, 12, root, prev, x[2]);
	tg_block_hash(7, 1000, 2000, 13, root, prev, x[3]);
	tg_block_hash(7, 1000, 2000, 12, root2, prev, x[4]);
	tg_block_hash(7, 1000, 2000, 12, root, prev2, x[5]);
	/* swapped from/to, and high bits of the 64-bit fields */
	tg_block_hash(7, 2000, 1000, 12, root, prev, x[6]);
	tg_block_hash(7, 1000 | (UINT64_C(1) << 40), 2000, 12, root, prev, x[7]);
	for (i = 0; i < 8; i++)
	{
		CHECK(!hash_eq(h, x[i]));
		for (j = i + 1; j < 8; j++)
			if (hash_eq(x[i], x[j]))
				distinct = false;
	}
	CHECK(distinct);

	/* documented layout: label || be64 id || be64 from || be64 to || be64 count || root || prev */
	{
		crypto_hash_sha256_state st;
		uint8_t		nums[32] = {0};
		uint8_t		want[TG_HASH_LEN];

		nums[7] = 7;
		nums[14] = 0x03;
		nums[15] = 0xe8;		/* 1000 */
		nums[22] = 0x07;
		nums[23] = 0xd0;		/* 2000 */
		nums[31] = 12;
		crypto_hash_sha256_init(&st);
		crypto_hash_sha256_update(&st, (const uint8_t *) "tenantguard-block-v1", 20);
		crypto_hash_sha256_update(&st, nums, 32);
		crypto_hash_sha256_update(&st, root, TG_HASH_LEN);
		crypto_hash_sha256_update(&st, prev, TG_HASH_LEN);
		crypto_hash_sha256_final(&st, want);
		CHECK(hash_eq(h, want));
	}
}

static void
test_keypair_and_signature(void)
{
	uint8_t		mk1[32],
				mk2[32];
	uint8_t		pk1[TG_SIGN_PK_LEN],
				sk1[TG_SIGN_SK_LEN],
				pk1b[TG_SIGN_PK_LEN],
				sk1b[TG_SIGN_SK_LEN],
				pk2[TG_SIGN_PK_LEN],
				sk2[TG_SIGN_SK_LEN];
	uint8_t		bh[TG_HASH_LEN],
				sig[TG_SIG_LEN],
				sig2[TG_SIG_LEN];
	uint8_t		derived_pk[TG_SIGN_PK_LEN];
	int			i;
	bool		all_bits_rejected = true;

	for (i = 0; i < 32; i++)
	{
		mk1[i] = (uint8_t) i;
		mk2[i] = (uint8_t) i;
	}
	mk2[31] ^= 1;

	tg_ledger_keypair(mk1, pk1, sk1);
	tg_ledger_keypair(mk1, pk1b, sk1b);
	CHECK(memcmp(pk1, pk1b, sizeof(pk1)) == 0);	/* deterministic per master key */
	CHECK(memcmp(sk1, sk1b, sizeof(sk1)) == 0);
	tg_ledger_keypair(mk2, pk2, sk2);
	CHECK(memcmp(pk1, pk2, sizeof(pk1)) != 0);	/* differs between master keys */
	CHECK(memcmp(sk1, sk2, sizeof(sk1)) != 0);
	/* the public key is the one of the secret key, and not the master key itself */
	CHECK(crypto_sign_ed25519_sk_to_pk(derived_pk, sk1) == 0);
	CHECK(memcmp(derived_pk, pk1, sizeof(pk1)) == 0);
	CHECK(memcmp(sk1, mk1, 32) != 0);

	/* documented derivation: seed = BLAKE2b-256(key = master key, "tenantguard/audit-signing/v1") */
	{
		uint8_t		seed[32],
					want_pk[32],
					want_sk[64];

		crypto_generichash(seed, 32, (const uint8_t *) "tenantguard/audit-signing/v1", 28, mk1, 32);
		crypto_sign_seed_keypair(want_pk, want_sk, seed);
		CHECK(memcmp(want_pk, pk1, 32) == 0);
	}

	memset(bh, 0x5c, sizeof(bh));
	tg_ledger_sign(sk1, bh, sig);
	CHECK(tg_ledger_verify(pk1, bh, sig));
	tg_ledger_sign(sk1, bh, sig2);
	CHECK(memcmp(sig, sig2, sizeof(sig)) == 0);	/* Ed25519 is deterministic */
	CHECK(crypto_sign_verify_detached(sig, bh, TG_HASH_LEN, pk1) == 0);
	CHECK(!tg_ledger_verify(pk2, bh, sig));	/* other master key's public key */

	/* every single flipped bit of the signature is rejected */
	for (i = 0; i < TG_SIG_LEN * 8; i++)
	{
		memcpy(sig2, sig, sizeof(sig));
		sig2[i / 8] ^= (uint8_t) (1 << (i % 8));
		if (tg_ledger_verify(pk1, bh, sig2))
			all_bits_rejected = false;
	}
	CHECK(all_bits_rejected);

	/* every single flipped bit of the block hash is rejected */
	all_bits_rejected = true;
	for (i = 0; i < TG_HASH_LEN * 8; i++)
	{
		uint8_t		bh2[TG_HASH_LEN];

		memcpy(bh2, bh, sizeof(bh));
		bh2[i / 8] ^= (uint8_t) (1 << (i % 8));
		if (tg_ledger_verify(pk1, bh2, sig))
			all_bits_rejected = false;
	}
	CHECK(all_bits_rejected);

	/* a flipped bit of the public key is rejected */
	memcpy(pk1b, pk1, sizeof(pk1));
	pk1b[5] ^= 0x10;
	CHECK(!tg_ledger_verify(pk1b, bh, sig));

	/* signed by the other key: verifies under its own key only */
	tg_ledger_sign(sk2, bh, sig2);
	CHECK(tg_ledger_verify(pk2, bh, sig2));
	CHECK(!tg_ledger_verify(pk1, bh, sig2));
}

/* Master key replacement: the old signing key endorses the new one. */
static void
test_endorsement(void)
{
	uint8_t		mk_old[32],
				mk_new[32];
	uint8_t		old_pk[TG_SIGN_PK_LEN],
				old_sk[TG_SIGN_SK_LEN],
				new_pk[TG_SIGN_PK_LEN],
				new_sk[TG_SIGN_SK_LEN],
				other_pk[TG_SIGN_PK_LEN];
	uint8_t		sig[TG_SIG_LEN],
				sig2[TG_SIG_LEN];
	uint8_t		msg[25 + TG_SIGN_PK_LEN];
	int			i;
	bool		all_bits_rejected = true;

	memset(mk_old, 0x11, sizeof(mk_old));
	memset(mk_new, 0x22, sizeof(mk_new));
	tg_ledger_keypair(mk_old, old_pk, old_sk);
	tg_ledger_keypair(mk_new, new_pk, new_sk);
	memcpy(other_pk, new_pk, sizeof(other_pk));
	other_pk[0] ^= 1;

	tg_ledger_endorse(old_sk, new_pk, sig);
	CHECK(tg_ledger_check_endorsement(old_pk, new_pk, sig));
	CHECK(!tg_ledger_check_endorsement(old_pk, other_pk, sig));	/* another new key */
	CHECK(!tg_ledger_check_endorsement(new_pk, new_pk, sig));	/* not endorsed by itself */
	/* documented message: "tenantguard-ledger-key-v1" || new public key */
	memcpy(msg, "tenantguard-ledger-key-v1", 25);
	memcpy(msg + 25, new_pk, TG_SIGN_PK_LEN);
	CHECK(crypto_sign_verify_detached(sig, msg, sizeof(msg), old_pk) == 0);
	/* an endorsement is not a block signature over the same bytes */
	CHECK(!tg_ledger_verify(old_pk, new_pk, sig));
	for (i = 0; i < TG_SIG_LEN * 8; i++)
	{
		memcpy(sig2, sig, sizeof(sig));
		sig2[i / 8] ^= (uint8_t) (1 << (i % 8));
		if (tg_ledger_check_endorsement(old_pk, new_pk, sig2))
			all_bits_rejected = false;
	}
	CHECK(all_bits_rejected);
	/* the new key cannot endorse backwards to look like the old one's successor */
	tg_ledger_endorse(new_sk, old_pk, sig2);
	CHECK(!tg_ledger_check_endorsement(old_pk, old_pk, sig2));
	CHECK(tg_ledger_check_endorsement(new_pk, old_pk, sig2));
}

void
test_ledger(void)
{
	if (sodium_init() < 0)
	{
		CHECK(!"sodium_init failed");
		return;
	}
	test_sha256_vector();
	test_ed25519_vector();
	test_event_hash_encoding();
	test_event_hash();
	test_root();
	test_block_hash();
	test_keypair_and_signature();
	test_endorsement();
}
