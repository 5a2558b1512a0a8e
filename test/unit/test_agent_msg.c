/*
 * test_agent_msg.c — agent login/rotate messages, key and signature text,
 * fingerprints and Ed25519 (RFC 8032 section 7.1, TEST 2).
 */
#include <string.h>

#include <sodium.h>

#include "unit.h"
#include "core/agent_msg.h"
#include "core/encoding.h"

static const char *agent = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";

static void
test_fields(void)
{
	int64_t		ts = -1;

	CHECK(tg_agent_id_valid(agent, 36));
	CHECK(!tg_agent_id_valid("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", 36));
	CHECK(!tg_agent_id_valid("6ba7b8109dad11d180b400c04fd430c8", 32));
	CHECK(!tg_agent_id_valid(agent, 35));
	CHECK(!tg_agent_id_valid("{ba7b810-9dad-11d1-80b4-00c04fd430c8", 36));

	CHECK(tg_agent_nonce_valid("abcdefghABCDEF09", 16));
	CHECK(tg_agent_nonce_valid("a-b_c-d_e-f_g-h_", 16));
	CHECK(!tg_agent_nonce_valid("abcdefghABCDEF0", 15));
	CHECK(tg_agent_nonce_valid("0123456789012345678901234567890123456789012345678901234567890123", 64));
	CHECK(!tg_agent_nonce_valid("01234567890123456789012345678901234567890123456789012345678901234", 65));
	CHECK(!tg_agent_nonce_valid("abcdefghABCDEF0+", 16));
	CHECK(!tg_agent_nonce_valid("abcdefghABCDEF0=", 16));
	CHECK(!tg_agent_nonce_valid("abcdefgh\nBCDEF01", 16));
	CHECK(!tg_agent_nonce_valid("abcdefgh BCDEF01", 16));
	CHECK(!tg_agent_nonce_valid("abcdefgh\0BCDEF01", 16));

	CHECK(tg_agent_ts_parse("0", 1, &ts) && ts == 0);
	CHECK(tg_agent_ts_parse("1764820000", 10, &ts) && ts == 1764820000);
	CHECK(tg_agent_ts_parse("9223372036854775807", 19, &ts) && ts == INT64_MAX);
	CHECK(!tg_agent_ts_parse("9223372036854775808", 19, &ts));
	CHECK(!tg_agent_ts_parse("99999999999999999999", 20, &ts));
	CHECK(!tg_agent_ts_parse("", 0, &ts));
	CHECK(!tg_agent_ts_parse("01", 2, &ts));
	CHECK(!tg_agent_ts_parse("-1", 2, &ts));
	CHECK(!tg_agent_ts_parse("+1", 2, &ts));
	CHECK(!tg_agent_ts_parse(" 1", 2, &ts));
	CHECK(!tg_agent_ts_parse("1e3", 3, &ts));
}

static void
test_messages(void)
{
	const char *nonce = "AbCdEfGhIjKlMnOp_-12";
	const char *pk = "PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=";
	char		out[TG_AGENT_MSG_MAX];
	const char *want_login = "tenantguard-agent-login\n6ba7b810-9dad-11d1-80b4-00c04fd430c8\n1764820000\nAbCdEfGhIjKlMnOp_-12";
	const char *want_rotate = "tenantguard-agent-rotate\n6ba7b810-9dad-11d1-80b4-00c04fd430c8\nPUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=";
	int			n;

	n = tg_agent_login_msg(agent, 36, 1764820000, nonce, strlen(nonce), out, sizeof(out));
	CHECK(n == (int) strlen(want_login) && strcmp(out, want_login) == 0);
	n = tg_agent_login_msg(agent, 36, 0, nonce, strlen(nonce), out, sizeof(out));
	CHECK(n > 0 && strstr(out, "\n0\n") != NULL);
	/* the longest login message fits TG_AGENT_MSG_MAX */
	{
		char		longnonce[TG_AGENT_NONCE_MAX + 1];

		memset(longnonce, 'z', TG_AGENT_NONCE_MAX);
		longnonce[TG_AGENT_NONCE_MAX] = '\0';
		n = tg_agent_login_msg(agent, 36, INT64_MAX, longnonce, TG_AGENT_NONCE_MAX, out, sizeof(out));
		CHECK(n == 24 + 37 + 20 + TG_AGENT_NONCE_MAX);
	}
	CHECK(tg_agent_login_msg(agent, 36, -1, nonce, strlen(nonce), out, sizeof(out)) == TG_AGENT_BAD_TS);
	CHECK(tg_agent_login_msg("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", 36, 1, nonce, strlen(nonce), out, sizeof(out)) == TG_AGENT_BAD_ID);
	CHECK(tg_agent_login_msg(agent, 36, 1, "short", 5, out, sizeof(out)) == TG_AGENT_BAD_NONCE);
	CHECK(tg_agent_login_msg(agent, 36, 1764820000, nonce, strlen(nonce), out, strlen(want_login)) == TG_AGENT_TOO_SMALL);
	CHECK(out[0] == '\0');
	CHECK(tg_agent_login_msg(agent, 36, 1764820000, nonce, strlen(nonce), out, strlen(want_login) + 1) > 0);

	n = tg_agent_rotate_msg(agent, 36, pk, strlen(pk), out, sizeof(out));
	CHECK(n == (int) strlen(want_rotate) && strcmp(out, want_rotate) == 0);
	CHECK(tg_agent_rotate_msg(agent, 36, pk, 43, out, sizeof(out)) == TG_AGENT_BAD_KEY);
	CHECK(tg_agent_rotate_msg(agent, 35, pk, 44, out, sizeof(out)) == TG_AGENT_BAD_ID);
	CHECK(tg_agent_rotate_msg(agent, 36, pk, 44, out, 20) == TG_AGENT_TOO_SMALL);
}

static void
test_encodings(void)
{
	uint8_t		pk[TG_AGENT_PK_LEN],
				sig[TG_AGENT_SIG_LEN],
				zero[TG_AGENT_PK_LEN];
	char		text[TG_AGENT_SIG_TEXT_LEN + 1];
	char		fp[TG_AGENT_FP_TEXT_LEN + 1];
	uint8_t		b[8];

	CHECK(tg_agent_pk_parse("PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=", 44, pk));
	tg_agent_pk_encode(pk, text);
	CHECK(strcmp(text, "PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=") == 0);
	/* non-canonical trailing bits, missing padding, url-safe alphabet, 33 bytes */
	CHECK(!tg_agent_pk_parse("PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgx=", 44, pk));
	CHECK(!tg_agent_pk_parse("PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw", 43, pk));
	CHECK(!tg_agent_pk_parse("PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw=", 44, pk));
	CHECK(!tg_agent_pk_parse("PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0ZgwA", 44, pk));
	CHECK(!tg_agent_pk_parse("PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zg==", 44, pk));
	CHECK(!tg_agent_pk_parse("PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=\n", 45, pk));
	/* the identity point (small order) is no identity key */
	memset(zero, 0, sizeof(zero));
	zero[0] = 1;
	tg_agent_pk_encode(zero, text);
	CHECK(!tg_agent_pk_parse(text, 44, pk));

	memset(sig, 0xab, sizeof(sig));
	tg_agent_sig_encode(sig, text);
	CHECK(strlen(text) == 88 && text[86] == '=' && text[87] == '=');
	memset(sig, 0, sizeof(sig));
	CHECK(tg_agent_sig_parse(text, 88, sig) && unit_all_bytes(sig, 64, 0xab));
	CHECK(!tg_agent_sig_parse(text, 87, sig));
	CHECK(!tg_agent_sig_parse("PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=", 44, sig));

	/* generic standard base64 */
	CHECK(tg_b64_text_len(0) == 0 && tg_b64_text_len(1) == 4 && tg_b64_text_len(32) == 44);
	CHECK(tg_b64_decode("Zm9vYg==", 8, b, sizeof(b)) == 4 && memcmp(b, "foob", 4) == 0);
	CHECK(tg_b64_decode("Zm9vYmE=", 8, b, sizeof(b)) == 5);
	CHECK(tg_b64_decode("", 0, b, sizeof(b)) == 0);
	CHECK(tg_b64_decode("Zm9vYg=", 7, b, sizeof(b)) == -1);
	CHECK(tg_b64_decode("Zm9vYh==", 8, b, sizeof(b)) == -1);
	CHECK(tg_b64_decode("Zm9v====", 8, b, sizeof(b)) == -1);
	CHECK(tg_b64_decode("Zm=vYg==", 8, b, sizeof(b)) == -1);
	CHECK(tg_b64_decode("Zm9v\xc3\xa9g==", 8, b, sizeof(b)) == -1);
	CHECK(tg_b64_decode("Zm9vYmFy", 8, b, 4) == -1);

	/* fingerprint of the RFC 8032 TEST 2 key (computed with Python hashlib) */
	CHECK(tg_agent_pk_parse("PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=", 44, pk));
	tg_agent_fingerprint(pk, fp);
	CHECK(strcmp(fp, "SHA256:OfcT0KZEJT8EUpQhufUbmwiXnQgpWVnE85kO5hf1E58") == 0);
}

static void
test_ed25519(void)
{
	/* RFC 8032 section 7.1, TEST 2: a one-byte message 0x72 */
	uint8_t		seed[32],
				want_pk[32],
				want_sig[64],
				pk[32],
				sk[64],
				sig[64];
	char		msg[TG_AGENT_MSG_MAX];
	int			n;

	unit_unhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", seed, 32);
	unit_unhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", want_pk, 32);
	unit_unhex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
			   "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00", want_sig, 64);
	CHECK(tg_agent_keypair_from_seed(seed, pk, sk));
	CHECK(memcmp(pk, want_pk, 32) == 0);
	CHECK(tg_agent_sign(sk, "\x72", 1, sig));
	CHECK(memcmp(sig, want_sig, 64) == 0);
	CHECK(tg_agent_verify(pk, "\x72", 1, sig));
	CHECK(!tg_agent_verify(pk, "\x73", 1, sig));
	sig[63] ^= 0x01;
	CHECK(!tg_agent_verify(pk, "\x72", 1, sig));

	/* a login message signed and verified; another agent id or ts fails */
	n = tg_agent_login_msg(agent, 36, 1764820000, "nonce-nonce-nonce", 17, msg, sizeof(msg));
	CHECK(n > 0 && tg_agent_sign(sk, msg, (size_t) n, sig));
	CHECK(tg_agent_verify(pk, msg, (size_t) n, sig));
	n = tg_agent_login_msg(agent, 36, 1764820001, "nonce-nonce-nonce", 17, msg, sizeof(msg));
	CHECK(n > 0 && !tg_agent_verify(pk, msg, (size_t) n, sig));
	n = tg_agent_login_msg("6ba7b810-9dad-11d1-80b4-00c04fd430c9", 36, 1764820000,
						   "nonce-nonce-nonce", 17, msg, sizeof(msg));
	CHECK(n > 0 && !tg_agent_verify(pk, msg, (size_t) n, sig));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(seed, sizeof(seed));
}

void
test_agent_msg(void)
{
	test_fields();
	test_messages();
	test_encodings();
	test_ed25519();
}
