/*
 * fuzz_agent_msg.c — libFuzzer harness for core/agent_msg.
 * Input: up to four fields separated by '\n' (agent_id, ts, nonce or public
 * key, signature). Properties: a parsed public key or signature re-encodes to
 * the same text; a message is built only from valid fields and then has the
 * exact layout of agent_msg.h; a canonical ts round-trips through its
 * decimal text; never a read or write outside the buffers.
 * Build and run with libFuzzer: make -C test/fuzz agent_msg
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/agent_msg.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *) data;
	const char *f[4] = {"", "", "", ""};
	size_t		fl[4] = {0, 0, 0, 0};
	size_t		k = 0,
				start = 0,
				i;
	uint8_t		pk[TG_AGENT_PK_LEN],
				sig[TG_AGENT_SIG_LEN];
	char		enc[TG_AGENT_SIG_TEXT_LEN + 1];
	char		msg[TG_AGENT_MSG_MAX];
	char		digits[32];
	int64_t		ts = 0;
	bool		ts_ok;
	int			n;

	for (i = 0; i <= size && k < 4; i++)
	{
		if (i == size || text[i] == '\n')
		{
			f[k] = text + start;
			fl[k] = i - start;
			k++;
			start = i + 1;
		}
	}

	/* the whole input as a key and as a signature */
	if (tg_agent_pk_parse(text, size, pk))
	{
		tg_agent_pk_encode(pk, enc);
		if (size != TG_AGENT_PK_TEXT_LEN || memcmp(enc, text, size) != 0)
			abort();
	}
	if (tg_agent_sig_parse(text, size, sig))
	{
		tg_agent_sig_encode(sig, enc);
		if (size != TG_AGENT_SIG_TEXT_LEN || memcmp(enc, text, size) != 0)
			abort();
	}

	ts_ok = tg_agent_ts_parse(f[1], fl[1], &ts);
	if (ts_ok)
	{
		snprintf(digits, sizeof(digits), "%lld", (long long) ts);
		if (strlen(digits) != fl[1] || memcmp(digits, f[1], fl[1]) != 0)
			abort();
	}

	n = tg_agent_login_msg(f[0], fl[0], ts_ok ? ts : 1, f[2], fl[2], msg, sizeof(msg));
	if ((n > 0) != (tg_agent_id_valid(f[0], fl[0]) && tg_agent_nonce_valid(f[2], fl[2])))
		abort();
	if (n > 0 && ((size_t) n != strlen(msg) ||
				  strncmp(msg, TG_AGENT_LOGIN_PREFIX "\n", 24) != 0 ||
				  memcmp(msg + 24, f[0], 36) != 0 ||
				  memcmp(msg + n - fl[2], f[2], fl[2]) != 0))
		abort();

	n = tg_agent_rotate_msg(f[0], fl[0], f[2], fl[2], msg, sizeof(msg));
	if ((n > 0) != (tg_agent_id_valid(f[0], fl[0]) && tg_agent_pk_parse(f[2], fl[2], pk)))
		abort();
	if (n > 0 && (size_t) n != 25 + 37 + TG_AGENT_PK_TEXT_LEN)
		abort();

	/* a signature from the input never verifies against the input's key by chance of a bug */
	if (tg_agent_pk_parse(f[2], fl[2], pk) && tg_agent_sig_parse(f[3], fl[3], sig))
		(void) tg_agent_verify(pk, f[0], fl[0], sig);
	return 0;
}
