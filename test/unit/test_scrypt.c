/*
 * test_scrypt.c — scrypt (RFC 7914 section 12 vectors) and passlib's
 * $scrypt$ format: fixed passlib vectors, rejections, round trips.
 *
 * The passlib vectors below were made once with Debian's python3-passlib
 * 1.7.4 (/usr/bin/python3), e.g.
 *     from passlib.hash import scrypt
 *     scrypt.using(rounds=4).hash('correct horse')
 * The other direction was checked by hand once: the C-made hash of "hunter2"
 * with ln=4,r=8,p=1 (printed by a scratch program calling tg_scrypt_hash)
 * was verified with scrypt.verify('hunter2', h) -> True (and 'hunter3' ->
 * False), and ("", ln=5,r=2,p=3) likewise, under /usr/bin/python3. These tests do not need python.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

#include "unit.h"
#include "core/scrypt.h"

static void
rfc_vector(const char *pw, const char *salt, unsigned ln, unsigned r,
		   unsigned p, const char *hex)
{
	tg_scrypt_params prm = {ln, r, p};
	uint8_t		want[64],
				got[64];

	unit_unhex(hex, want, 64);
	CHECK(tg_scrypt_raw((const uint8_t *) pw, strlen(pw),
						(const uint8_t *) salt, strlen(salt),
						&prm, got, 64) == TG_SCRYPT_OK);
	CHECK(memcmp(got, want, 64) == 0);
}

/* Does OpenSSL's scrypt succeed under this maxmem_bytes? */
static bool
openssl_fits(const tg_scrypt_params *prm, uint64_t maxmem)
{
	EVP_KDF    *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_SCRYPT, NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	uint64_t	n = UINT64_C(1) << prm->ln;
	uint32_t	r = prm->r,
				p = prm->p;
	uint8_t		out[16];
	OSSL_PARAM	params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, "pw", 2),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, "salt", 4),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
		OSSL_PARAM_construct_end()
	};
	bool		ok = ctx != NULL && EVP_KDF_derive(ctx, out, sizeof(out), params) == 1;

	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok;
}

static tg_scrypt_status
verify_s(const char *pw, const char *phc)
{
	return tg_scrypt_verify((const uint8_t *) pw, strlen(pw), phc, strlen(phc));
}

static const char *const bad[] = {
	"",
	"$scrypt$",
	"$scrypt",
	"scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$7$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$SCRYPT$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
	/* missing / extra fields, other order */
	"$scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA",
	"$scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$",
	"$scrypt$ln=4,r=8$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$scrypt$ln=4,r=8,p=1,x=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$scrypt$r=8,ln=4,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w$",
	"$scrypt$ln=4,r=8,p=1$x$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$scrypt$ln=,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$scrypt$ln=04,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$scrypt$ln=+4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$scrypt$ln=-4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$scrypt$ln= 4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$scrypt$ln=4a,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$scrypt$ln=99999999999999999999,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	/* bad base64: ab64 '.', padding, foreign characters, length 1 mod 4 */
	"$scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$.FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA==$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w=",
	"$scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBg-A$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBg_A$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgb$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$scrypt$ln=4,r=8,p=1$qRUipJTy vrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	/* non-canonical trailing bits ("bA" -> "bB") */
	"$scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgbB$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	/* empty salt, truncated / overlong checksum, trailing garbage */
	"$scrypt$ln=4,r=8,p=1$$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w",
	"$scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/",
	"$scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg",
	"$scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/wAAAA",
	"$scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w ",
	"$scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w\n",
};

static const char good4[] =
"$scrypt$ln=4,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w";

static void
rejections(void)
{
	tg_scrypt_params prm = {4, 8, 1};
	char		buf[TG_SCRYPT_PHC_MAX + 200];
	size_t		i;
	clock_t		t0;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		tg_scrypt_status st = verify_s("correct horse", bad[i]);

		if (st != TG_SCRYPT_MALFORMED)
			fprintf(stderr, "bad[%zu] -> %d\n", i, (int) st);
		CHECK(st == TG_SCRYPT_MALFORMED);
		CHECK(tg_scrypt_needs_rehash(bad[i], strlen(bad[i]), &prm));
	}
	/* NUL inside (length-delimited input) */
	memcpy(buf, good4, sizeof(good4));
	buf[30] = '\0';
	CHECK(tg_scrypt_verify((const uint8_t *) "correct horse", 13, buf,
						   sizeof(good4) - 1) == TG_SCRYPT_MALFORMED);
	/* the good string plus its NUL terminator counted in the length */
	CHECK(tg_scrypt_verify((const uint8_t *) "correct horse", 13, good4,
						   sizeof(good4)) == TG_SCRYPT_MALFORMED);
	CHECK(tg_scrypt_verify((const uint8_t *) "x", 1, NULL, 10) == TG_SCRYPT_MALFORMED);
	/* overlong: a well-formed string with a salt beyond TG_SCRYPT_PHC_MAX */
	strcpy(buf, "$scrypt$ln=4,r=8,p=1$");
	memset(buf + strlen(buf), 'A', TG_SCRYPT_PHC_MAX);
	strcpy(buf + 21 + TG_SCRYPT_PHC_MAX, "$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w");
	CHECK(tg_scrypt_verify((const uint8_t *) "x", 1, buf, strlen(buf)) == TG_SCRYPT_MALFORMED);

	/* parameters beyond the limits are refused fast (no scrypt run) */
	t0 = clock();
	CHECK(verify_s("correct horse", "$scrypt$ln=31,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w") == TG_SCRYPT_LIMITS);
	CHECK(verify_s("correct horse", "$scrypt$ln=21,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w") == TG_SCRYPT_LIMITS);
	CHECK(verify_s("correct horse", "$scrypt$ln=999999999,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w") == TG_SCRYPT_LIMITS);
	CHECK(verify_s("correct horse", "$scrypt$ln=20,r=9,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w") == TG_SCRYPT_LIMITS);
	CHECK(verify_s("correct horse", "$scrypt$ln=4,r=33,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w") == TG_SCRYPT_LIMITS);
	CHECK(verify_s("correct horse", "$scrypt$ln=4,r=8,p=17$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w") == TG_SCRYPT_LIMITS);
	CHECK(verify_s("correct horse", "$scrypt$ln=4,r=16,p=16$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w") == TG_SCRYPT_LIMITS);
	CHECK(verify_s("correct horse", "$scrypt$ln=0,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w") == TG_SCRYPT_LIMITS);
	CHECK(verify_s("correct horse", "$scrypt$ln=4,r=0,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w") == TG_SCRYPT_LIMITS);
	CHECK(verify_s("correct horse", "$scrypt$ln=4,r=8,p=0$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w") == TG_SCRYPT_LIMITS);
	CHECK((double) (clock() - t0) / CLOCKS_PER_SEC < 0.5);
	CHECK(tg_scrypt_needs_rehash("$scrypt$ln=31,r=8,p=1$qRUipJTyvrd2jpESAgBgbA$/FV6a/+uOAdJcWujyHqHJdIiT00ie1fEVQOUZrtg+/w", 87, &prm));

	/* raw and hash refuse parameters beyond the limits too */
	{
		tg_scrypt_params big = {21, 8, 1},
					zero = {4, 0, 1};
		uint8_t		out[32];
		char		phc[TG_SCRYPT_PHC_BUF];

		CHECK(tg_scrypt_raw((const uint8_t *) "x", 1, (const uint8_t *) "s", 1, &big, out, 32) == TG_SCRYPT_LIMITS);
		CHECK(tg_scrypt_hash((const uint8_t *) "x", 1, &zero, phc, sizeof(phc)) == TG_SCRYPT_LIMITS);
		CHECK(phc[0] == '\0');
		CHECK(tg_scrypt_hash((const uint8_t *) "x", 1, &prm, phc, 40) == TG_SCRYPT_ERROR);
		CHECK(phc[0] == '\0');
		CHECK(tg_scrypt_memory(&big) == 0);
		CHECK(!tg_scrypt_params_ok(NULL));
	}
}

static void
passlib_vectors(void)
{
	static const struct
	{
		const char *pw;
		const char *phc;
	}			v[] = {
		{"correct horse", good4},
		{"", "$scrypt$ln=5,r=2,p=3$LWUM4TynVGotJeTcO4dwrg$EKPxcDYemZ3koyBCDiGorm+oEh38dgwz27zedLZKf0c"},
		/* 'p\u00e4ss' as UTF-8, 8-byte salt */
		{"p\xc3\xa4ss", "$scrypt$ln=6,r=8,p=1$OWesNcZ4j9E$GNJpYMKQuyypZlc8ePtvF6/FDip/o8NzduVgGycZL58"},
		/* 'x' * 100, 31-byte salt */
		{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		"$scrypt$ln=4,r=4,p=1$Quj9n3POufc+Z8yZUwoB4LxXqlWqNQYg5Ly3Vuq9lw$Y8M+UdjNQ2jqM8o/7q8u6p6hyLReGNJ9ib1RWuR/yXs"},
	};
	tg_scrypt_params want16 = {4, 8, 1};
	size_t		i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
	{
		tg_scrypt_params prm;
		uint8_t		salt[TG_SCRYPT_SALT_MAX],
					ck[TG_SCRYPT_HASH_LEN];
		size_t		sl;

		CHECK(verify_s(v[i].pw, v[i].phc) == TG_SCRYPT_OK);
		CHECK(verify_s("wrong", v[i].phc) == TG_SCRYPT_MISMATCH);
		CHECK(tg_scrypt_parse(v[i].phc, strlen(v[i].phc), &prm, salt, &sl, ck) == TG_SCRYPT_OK);
	}
	/* needs_rehash: same parameters and 16-byte salt -> false; else true */
	CHECK(!tg_scrypt_needs_rehash(good4, strlen(good4), &want16));
	want16.ln = 5;
	CHECK(tg_scrypt_needs_rehash(good4, strlen(good4), &want16));
	want16.ln = 4;
	want16.r = 4;
	CHECK(tg_scrypt_needs_rehash(good4, strlen(good4), &want16));
	want16.r = 8;
	want16.p = 2;
	CHECK(tg_scrypt_needs_rehash(good4, strlen(good4), &want16));
	want16.p = 1;
	CHECK(tg_scrypt_needs_rehash(v[2].phc, strlen(v[2].phc), &(tg_scrypt_params) {6, 8, 1}));
	CHECK(tg_scrypt_needs_rehash(good4, strlen(good4), NULL));
}

static void
round_trips(void)
{
	tg_scrypt_params prm = {4, 8, 1},
				other = {5, 1, 2};
	static uint8_t pw[1024];
	char		phc[TG_SCRYPT_PHC_BUF],
				phc2[TG_SCRYPT_PHC_BUF];
	size_t		lens[] = {0, 1, 13, 64, 1024};
	size_t		i;

	randombytes_buf(pw, sizeof(pw));
	pw[3] = 0;
	pw[500] = 0;				/* NULs inside: the length counts */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		if (lens[i] > 0 && pw[lens[i] - 1] == 0)
			pw[lens[i] - 1] = 0x5a;	/* a trailing NUL is HMAC padding */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
	{
		size_t		n = lens[i];

		CHECK(tg_scrypt_hash(pw, n, &prm, phc, sizeof(phc)) == TG_SCRYPT_OK);
		CHECK(strncmp(phc, "$scrypt$ln=4,r=8,p=1$", 21) == 0);
		CHECK(strchr(phc, '=') == phc + 10);	/* no padding */
		CHECK(tg_scrypt_verify(pw, n, phc, strlen(phc)) == TG_SCRYPT_OK);
		CHECK(!tg_scrypt_needs_rehash(phc, strlen(phc), &prm));
		CHECK(tg_scrypt_needs_rehash(phc, strlen(phc), &other));
		if (n > 0)
		{
			CHECK(tg_scrypt_verify(pw, n - 1, phc, strlen(phc)) == TG_SCRYPT_MISMATCH);
			pw[n - 1] ^= 1;
			CHECK(tg_scrypt_verify(pw, n, phc, strlen(phc)) == TG_SCRYPT_MISMATCH);
			pw[n - 1] ^= 1;
		}
		else
		{
			/*
			 * HMAC zero-pads keys, so scrypt cannot tell "" from "\0" (nor
			 * "pw" from "pw\0"): a documented property, hence no NUL in
			 * passwords at the SQL level. A 1-byte non-NUL password differs.
			 */
			CHECK(tg_scrypt_verify((const uint8_t *) "\0", 1, phc, strlen(phc)) == TG_SCRYPT_OK);
			CHECK(tg_scrypt_verify((const uint8_t *) "a", 1, phc, strlen(phc)) == TG_SCRYPT_MISMATCH);
		}
		/* fresh salt each time */
		CHECK(tg_scrypt_hash(pw, n, &prm, phc2, sizeof(phc2)) == TG_SCRYPT_OK);
		CHECK(strcmp(phc, phc2) != 0);
	}
	/* NULs inside: the prefix up to the first NUL is a different password */
	CHECK(tg_scrypt_hash(pw, 1024, &other, phc, sizeof(phc)) == TG_SCRYPT_OK);
	CHECK(tg_scrypt_verify(pw, 3, phc, strlen(phc)) == TG_SCRYPT_MISMATCH);
	CHECK(tg_scrypt_verify(pw, 1024, phc, strlen(phc)) == TG_SCRYPT_OK);
	CHECK(strncmp(phc, "$scrypt$ln=5,r=1,p=2$", 21) == 0);
}

void
test_scrypt(void)
{
	tg_scrypt_params def = {15, 8, 3},
				rfc4 = {20, 8, 1};
	const char *big = getenv("TG_SCRYPT_BIG");

	/* RFC 7914 section 12 */
	rfc_vector("", "", 4, 1, 1,
			   "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
			   "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
	rfc_vector("password", "NaCl", 10, 8, 16,
			   "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
			   "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
	rfc_vector("pleaseletmein", "SodiumChloride", 14, 8, 1,
			   "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
			   "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887");
	if (big != NULL && strcmp(big, "1") == 0)
		rfc_vector("pleaseletmein", "SodiumChloride", 20, 8, 1,
				   "2101cb9b6a511aaeaddbbe09cf70f881ec568d574a2ffd4dabe5ee9820adaa47"
				   "8e56fd8f4ba5d09ffa1c6d927c40f4c337304049e8a952fbcbf45c6fa77a41a4");
	else
		printf("scrypt: RFC 7914 vector 4 (N=2^20, 1 GiB) skipped; set TG_SCRYPT_BIG=1 to run it\n");
	CHECK(tg_scrypt_params_ok(&rfc4));

	/* memory: 128*r*(N+2) + 128*r*p */
	CHECK(tg_scrypt_memory(&def) == UINT64_C(128) * 8 * (32768 + 2) + 128 * 8 * 3);
	CHECK(tg_scrypt_memory(&rfc4) == UINT64_C(128) * 8 * (1048576 + 2) + 128 * 8);

	/* tg_scrypt_memory is exactly OpenSSL's need: one byte less is refused */
	{
		tg_scrypt_params a = {4, 8, 1},
					b = {6, 2, 3};

		CHECK(openssl_fits(&a, tg_scrypt_memory(&a)));
		CHECK(!openssl_fits(&a, tg_scrypt_memory(&a) - 1));
		CHECK(openssl_fits(&b, tg_scrypt_memory(&b)));
		CHECK(!openssl_fits(&b, tg_scrypt_memory(&b) - 1));
	}

	passlib_vectors();
	rejections();
	round_trips();
}
