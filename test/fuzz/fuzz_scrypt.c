/*
 * fuzz_scrypt.c — libFuzzer harness for the $scrypt$ PHC parser.
 * Properties: parse and needs_rehash never crash on any input; whatever parses
 * has parameters inside the limits (or says TG_SCRYPT_LIMITS), a salt of 1..
 * TG_SCRYPT_SALT_MAX bytes, and needs_rehash agrees with the parsed
 * parameters. Verify (which runs scrypt) only for tiny parameters (N <= 16,
 * r*p <= 4), where it must answer OK or MISMATCH, never MALFORMED.
 * Build and run with libFuzzer: make -C test/fuzz scrypt
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/scrypt.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *phc = (const char *) data;
	tg_scrypt_params prm = {0, 0, 0};
	uint8_t		salt[TG_SCRYPT_SALT_MAX];
	uint8_t		ck[TG_SCRYPT_HASH_LEN];
	size_t		saltlen = 0;
	tg_scrypt_status st;
	bool		rehash;

	st = tg_scrypt_parse(phc, size, &prm, salt, &saltlen, ck);
	rehash = tg_scrypt_needs_rehash(phc, size, &prm);
	if (st == TG_SCRYPT_MALFORMED)
	{
		if (!rehash || saltlen != 0)
			abort();
		return 0;
	}
	if (st == TG_SCRYPT_LIMITS)
	{
		if (tg_scrypt_params_ok(&prm) || !rehash || tg_scrypt_memory(&prm) != 0)
			abort();
		if (tg_scrypt_verify(data, size, phc, size) != TG_SCRYPT_LIMITS)
			abort();
		return 0;
	}
	if (st != TG_SCRYPT_OK || !tg_scrypt_params_ok(&prm) ||
		saltlen < 1 || saltlen > TG_SCRYPT_SALT_MAX ||
		rehash != (saltlen != TG_SCRYPT_SALT_LEN))
		abort();
	if (prm.ln <= 4 && prm.r * prm.p <= 4)
	{
		st = tg_scrypt_verify(data, size > 8 ? 8 : size, phc, size);
		if (st != TG_SCRYPT_OK && st != TG_SCRYPT_MISMATCH)
			abort();
	}
	return 0;
}
