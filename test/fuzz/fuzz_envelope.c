/*
 * fuzz_envelope.c — libFuzzer harness for the sealed-secret envelope.
 * Properties, for arbitrary input under a fixed key:
 *   - tg_env_parse never crashes and reports the header it was given;
 *   - tg_env_open returns MALFORMED for anything that does not parse, and
 *     FORGED (with the output wiped) or OK otherwise; OK only for a real
 *     envelope: resealing the plaintext with the input's header and nonce
 *     reproduces the input byte for byte;
 *   - the input sealed as a plaintext opens back to the same bytes.
 * Build and run with libFuzzer: make -C test/fuzz envelope
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/envelope.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The key the seed corpus's real envelopes are sealed with: 00 01 02 .. 1f. */
static const uint8_t fuzz_key[TG_ENV_KEY_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f
};

static const uint8_t fuzz_tenant[16] = {
	0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
	0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8
};

static void
check_open(const uint8_t *data, size_t size)
{
	tg_env_header h;
	bool		parsed;
	size_t		n = size >= TG_ENV_OVERHEAD ? size - TG_ENV_OVERHEAD : 0;
	uint8_t    *pt = malloc(n + 1);
	size_t		ptlen = 0;
	size_t		i;
	tg_env_result r;

	if (pt == NULL)
		abort();
	memset(&h, 0, sizeof(h));
	parsed = tg_env_parse(data, size, &h);
	if (parsed)
	{
		uint32_t	kv = ((uint32_t) data[2] << 24) | ((uint32_t) data[3] << 16) |
			((uint32_t) data[4] << 8) | (uint32_t) data[5];

		if (size < TG_ENV_OVERHEAD || h.version != TG_ENV_VERSION ||
			(h.flags & ~TG_ENV_FLAG_BYTES) != 0 || h.flags != data[1] ||
			h.key_version == 0 || h.key_version != kv ||
			memcmp(h.tenant, data + 6, 16) != 0 || h.plaintext_len != n)
			abort();
	}
	else if (tg_env_parse(data, size, NULL))
		abort();

	memset(pt, 0xaa, n + 1);
	r = tg_env_open(fuzz_key, data, size, pt, &ptlen);
	if (pt[n] != 0xaa)
		abort();
	switch (r)
	{
		case TG_ENV_MALFORMED:
			if (parsed)
				abort();
			break;
		case TG_ENV_FORGED:
			if (!parsed)
				abort();
			for (i = 0; i < n; i++)
				if (pt[i] != 0)
					abort();
			break;
		case TG_ENV_OK:
			{
				uint8_t    *again = malloc(size);

				if (!parsed || ptlen != n || again == NULL)
					abort();
				if (!tg_env_seal_with_nonce(fuzz_key, h.key_version, h.tenant, h.flags,
											data + TG_ENV_AD_LEN, pt, n, again))
					abort();
				if (memcmp(again, data, size) != 0)
					abort();
				free(again);
			}
			break;
		default:
			abort();
	}
	free(pt);
}

static void
check_seal(const uint8_t *data, size_t size)
{
	uint8_t    *env = malloc(size + TG_ENV_OVERHEAD);
	uint8_t    *back = malloc(size + 1);
	uint8_t		flags = size > 0 ? (data[0] & TG_ENV_FLAG_BYTES) : 0;
	uint32_t	kv = size > 0 ? (uint32_t) data[size - 1] + 1 : 1;
	tg_env_header h;
	size_t		got = 0;

	if (env == NULL || back == NULL)
		abort();
	if (!tg_env_seal(fuzz_key, kv, fuzz_tenant, flags, data, size, env))
		abort();
	if (!tg_env_parse(env, size + TG_ENV_OVERHEAD, &h) || h.flags != flags ||
		h.key_version != kv || memcmp(h.tenant, fuzz_tenant, 16) != 0 ||
		h.plaintext_len != size)
		abort();
	if (tg_env_open(fuzz_key, env, size + TG_ENV_OVERHEAD, back, &got) != TG_ENV_OK ||
		got != size || memcmp(back, data, size) != 0)
		abort();
	/* the same envelope under another tenant's header does not open */
	env[6] ^= 0x01;
	if (tg_env_open(fuzz_key, env, size + TG_ENV_OVERHEAD, back, &got) != TG_ENV_FORGED)
		abort();
	free(env);
	free(back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (sodium_init() < 0)
		abort();
	check_open(data, size);
	check_seal(data, size);
	return 0;
}
