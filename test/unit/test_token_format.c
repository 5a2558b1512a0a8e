/* test_token_format.c — recognisable tokens with a checksum (core/token_format). */
#include <string.h>
#include <stdint.h>

#include "unit.h"
#include "core/token_format.h"

static const tg_token_spec enr = {"tgenr", 16, 32};

/* Parse s as a session token. */
static tg_token_status
parse_session(const char *s)
{
	uint8_t		secret[32];

	return tg_token_parse(&tg_token_session, s, strlen(s), NULL, secret);
}

/* Refusals of a session token: one table. */
static void
session_refusals(void)
{
	static const struct
	{
		const char *text;
		tg_token_status want;
	}			cases[] = {
		/* a digit changed: checksum */
		{"tgses_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlg_2UbKPB", TG_TOKEN_BAD_CHECKSUM},
		/* two digits swapped */
		{"tgses_030aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf_2UbKPB", TG_TOKEN_BAD_CHECKSUM},
		/* checksum altered */
		{"tgses_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf_2UbKPC", TG_TOKEN_BAD_CHECKSUM},
		/* truncated */
		{"tgses_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf_2UbKP", TG_TOKEN_MALFORMED},
		{"tgses_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf", TG_TOKEN_MALFORMED},
		/* one character too many */
		{"tgses_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf_2UbKPBx", TG_TOKEN_MALFORMED},
		/* separator moved, missing, doubled */
		{"tgses_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBID_lf2UbKPB", TG_TOKEN_MALFORMED},
		{"tgses_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf22UbKPB", TG_TOKEN_MALFORMED},
		/* characters outside base62 */
		{"tgses_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBID-f_2UbKPB", TG_TOKEN_MALFORMED},
		{"tgses_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBID f_2UbKPB", TG_TOKEN_MALFORMED},
		{"tgses_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBID\xc3\xa9_2UbKPB", TG_TOKEN_MALFORMED},
		/* above 2^256 - 1: not canonical */
		{"tgses_yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp2_0Gf5FZ", TG_TOKEN_MALFORMED},
		{"tgses_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz_000000", TG_TOKEN_MALFORMED},
		/* another kind of token, or none */
		{"tgenr_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf_2UbKPB", TG_TOKEN_WRONG_PREFIX},
		{"ghp_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf_2UbKPB", TG_TOKEN_WRONG_PREFIX},
		{"TGSES_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf_2UbKPB", TG_TOKEN_MALFORMED},
		{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", TG_TOKEN_MALFORMED},
		{"tgses_", TG_TOKEN_MALFORMED},
		{"tgses", TG_TOKEN_MALFORMED},
		{"", TG_TOKEN_MALFORMED},
	};
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		tg_token_status got = parse_session(cases[i].text);

		if (got != cases[i].want)
			fprintf(stderr, "token case %zu: got %d, want %d\n", i, (int) got, (int) cases[i].want);
		CHECK(got == cases[i].want);
	}
}

static void
scanner(void)
{
	const char *tok = "tgses_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf_2UbKPB";
	const char *bad = "tgses_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlg_2UbKPB";
	char		text[512];
	size_t		start,
				len,
				which;
	tg_token_spec both[2];

	both[0] = enr;
	both[1] = tg_token_session;

	snprintf(text, sizeof(text), "SELECT resume('%s'); -- and again: %s.", tok, tok);
	CHECK(tg_token_scan(both, 2, text, strlen(text), 0, true, &start, &len, &which));
	CHECK(start == 15 && len == 56 && which == 1);
	CHECK(memcmp(text + start, tok, len) == 0);
	CHECK(tg_token_scan(both, 2, text, strlen(text), start + len, true, &start, &len, &which));
	CHECK(memcmp(text + start, tok, len) == 0 && text[start + len] == '.');
	CHECK(!tg_token_scan(both, 2, text, strlen(text), start + len, true, &start, &len, &which));

	/* inside a longer word: not a token */
	snprintf(text, sizeof(text), "x%s", tok);
	CHECK(!tg_token_scan(both, 2, text, strlen(text), 0, false, &start, &len, &which));
	snprintf(text, sizeof(text), "%s9", tok);
	CHECK(!tg_token_scan(both, 2, text, strlen(text), 0, false, &start, &len, &which));
	snprintf(text, sizeof(text), "_%s", tok);
	CHECK(!tg_token_scan(both, 2, text, strlen(text), 0, false, &start, &len, &which));

	/* a mistyped token: found by shape only */
	snprintf(text, sizeof(text), "resume('%s')", bad);
	CHECK(!tg_token_scan(both, 2, text, strlen(text), 0, true, &start, &len, &which));
	CHECK(tg_token_scan(both, 2, text, strlen(text), 0, false, &start, &len, &which));
	CHECK(start == 8 && len == 56);

	/* at the very start and end of the text, and truncated at the end */
	CHECK(tg_token_scan(both, 2, tok, strlen(tok), 0, true, &start, &len, &which) && start == 0);
	CHECK(!tg_token_scan(both, 2, tok, strlen(tok) - 1, 0, false, &start, &len, &which));
	CHECK(!tg_token_scan(both, 2, "", 0, 0, false, &start, &len, &which));
}

void
test_token_format(void)
{
	uint8_t		secret[32],
				id[16],
				got_secret[32],
				got_id[16];
	char		buf[TG_TOKEN_TEXT_MAX];
	size_t		i;
	tg_token_spec bad;

	/* lengths: fixed-width base62 of n bytes */
	CHECK(tg_base62_len(4) == 6);
	CHECK(tg_base62_len(16) == 22);
	CHECK(tg_base62_len(32) == 43);
	CHECK(tg_base62_len(64) == 86);
	CHECK(tg_base62_len(0) == 0 && tg_base62_len(65) == 0);
	CHECK(tg_token_len(&tg_token_session) == 56);
	CHECK(tg_token_len(&enr) == 5 + 1 + 22 + 1 + 43 + 1 + 6);

	/* known answers, computed independently with Python's zlib.crc32 and int.to_bytes */
	for (i = 0; i < 32; i++)
		secret[i] = (uint8_t) i;
	CHECK(tg_token_make(&tg_token_session, NULL, secret, buf, sizeof(buf)) == 56);
	CHECK(strcmp(buf, "tgses_003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf_2UbKPB") == 0);
	CHECK(tg_token_parse(&tg_token_session, buf, strlen(buf), NULL, got_secret) == TG_TOKEN_OK);
	CHECK(tg_token_bytes_equal(secret, got_secret, 32));

	memset(secret, 0xff, 32);
	CHECK(tg_token_make(&tg_token_session, NULL, secret, buf, sizeof(buf)) == 56);
	CHECK(strcmp(buf, "tgses_yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1_0Gf5FZ") == 0);
	CHECK(tg_token_parse(&tg_token_session, buf, strlen(buf), NULL, got_secret) == TG_TOKEN_OK);
	CHECK(tg_token_bytes_equal(secret, got_secret, 32));

	/* a public id part */
	for (i = 0; i < 16; i++)
		id[i] = (uint8_t) i;
	for (i = 0; i < 32; i++)
		secret[i] = (uint8_t) (100 + i);
	CHECK(tg_token_make(&enr, id, secret, buf, sizeof(buf)) == 79);
	CHECK(strcmp(buf, "tgenr_000SYW7RiJxkEgOGusQGwp_No287qEH4uQv9vBo5cxQTXAw02KFtzjuPbCrH1FrBEB_20XstW") == 0);
	CHECK(tg_token_parse(&enr, buf, strlen(buf), got_id, got_secret) == TG_TOKEN_OK);
	CHECK(memcmp(id, got_id, 16) == 0 && memcmp(secret, got_secret, 32) == 0);
	CHECK(tg_token_parse(&tg_token_session, buf, strlen(buf), NULL, got_secret) == TG_TOKEN_WRONG_PREFIX);
	CHECK(unit_all_bytes(got_secret, 32, 0));

	/* zero bytes: all-'0' digits, still exact */
	memset(secret, 0, 32);
	CHECK(tg_token_make(&tg_token_session, NULL, secret, buf, sizeof(buf)) == 56);
	CHECK(strncmp(buf, "tgses_0000000000000000000000000000000000000000000_", 50) == 0);
	CHECK(tg_token_parse(&tg_token_session, buf, strlen(buf), NULL, got_secret) == TG_TOKEN_OK);

	/* the output buffer must hold the token and its NUL */
	CHECK(tg_token_make(&tg_token_session, NULL, secret, buf, 56) == -1);
	CHECK(tg_token_make(&tg_token_session, NULL, secret, buf, 57) == 56);
	CHECK(tg_token_make(&enr, NULL, secret, buf, sizeof(buf)) == -1);

	/* invalid kinds */
	bad = tg_token_session;
	bad.prefix = "t";
	CHECK(!tg_token_spec_valid(&bad) && tg_token_len(&bad) == 0);
	bad.prefix = "tg-s";
	CHECK(!tg_token_spec_valid(&bad));
	bad.prefix = "abcdefghijklmnopq";
	CHECK(!tg_token_spec_valid(&bad));
	bad.prefix = "tgses";
	bad.secret_len = 15;
	CHECK(!tg_token_spec_valid(&bad));
	bad.secret_len = 65;
	CHECK(!tg_token_spec_valid(&bad));
	CHECK(tg_token_make(&bad, NULL, secret, buf, sizeof(buf)) == -1);

	session_refusals();
	scanner();

	CHECK(!tg_token_bytes_equal((const uint8_t *) "ab", (const uint8_t *) "ac", 2));
}
