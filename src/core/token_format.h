/*
 * token_format.h — bearer tokens that people and scanners can recognise
 * (pure C): <prefix>_[<id>_]<secret>_<checksum>
 *
 *   prefix    2..16 lower-case letters naming the kind of token (tgses for
 *             login sessions, tgenr for enrollment tokens), so that secret
 *             scanners and log redaction can find them;
 *   id        optional public part (a record's id, looked up directly):
 *             base62 of id_len bytes;
 *   secret    base62 of secret_len random bytes;
 *   checksum  CRC-32 (IEEE) of everything before its '_', as 6 base62 digits:
 *             a mistyped or truncated token is refused before any lookup.
 *
 * Base62 (0-9A-Za-z) of n bytes is the big-endian number in a fixed number
 * of digits (leading '0's), so every field has an exact length and exactly
 * one text per value (a value too large for its bytes is refused). The
 * checksum guards against mistakes, not forgery: the secret's 256 bits do.
 */
#ifndef TG_CORE_TOKEN_FORMAT_H
#define TG_CORE_TOKEN_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define TG_TOKEN_PREFIX_MIN 2
#define TG_TOKEN_PREFIX_MAX 16
#define TG_TOKEN_PART_MAX 64		/* bytes of an id or a secret */
#define TG_TOKEN_CHECKSUM_LEN 6
/* the longest token: prefix, two parts of 64 bytes (86 digits each), checksum, separators, NUL */
#define TG_TOKEN_TEXT_MAX (TG_TOKEN_PREFIX_MAX + 1 + 86 + 1 + 86 + 1 + TG_TOKEN_CHECKSUM_LEN + 1)

/* The shape of one kind of token. */
typedef struct tg_token_spec
{
	const char *prefix;			/* [a-z]{2,16} */
	size_t		id_len;			/* bytes of the public id; 0 = none */
	size_t		secret_len;		/* bytes of the secret: 16..64 */
} tg_token_spec;

/* Login session tokens: tgses_<256-bit secret>_<checksum> (56 characters). */
extern const tg_token_spec tg_token_session;

typedef enum tg_token_status
{
	TG_TOKEN_OK = 0,
	TG_TOKEN_MALFORMED,			/* not this kind's shape: length, separators, alphabet, range */
	TG_TOKEN_WRONG_PREFIX,		/* the shape of a token, but of another kind */
	TG_TOKEN_BAD_CHECKSUM		/* the right shape, but mistyped or altered */
} tg_token_status;

/* Base62 digits of n bytes (fixed width); 0 when n is 0 or over TG_TOKEN_PART_MAX. */
size_t		tg_base62_len(size_t n);

/* Is spec usable (prefix and lengths within bounds)? */
bool		tg_token_spec_valid(const tg_token_spec *spec);

/* Characters of a token of this kind (without NUL); 0 when spec is invalid. */
size_t		tg_token_len(const tg_token_spec *spec);

/*
 * Write the token for id (spec->id_len bytes, NULL when 0) and secret
 * (spec->secret_len bytes, from a CSPRNG) into out, NUL-terminated.
 * Returns the length, or -1 when spec is invalid or out too small.
 */
int			tg_token_make(const tg_token_spec *spec, const uint8_t *id, const uint8_t *secret,
						  char *out, size_t outcap);

/*
 * Parse exactly len bytes as a token of this kind: exact lengths, alphabet,
 * canonical base62, then the checksum. On TG_TOKEN_OK fills id (when
 * spec->id_len > 0) and secret; on failure they are zeroed.
 */
tg_token_status tg_token_parse(const tg_token_spec *spec, const char *s, size_t len,
							   uint8_t *id, uint8_t *secret);

/*
 * Find the first token of any of the nspecs kinds in text[from, len): a
 * match stands alone (no letter, digit or '_' right before or after it).
 * With require_checksum false, the shape alone is enough (a mistyped token
 * still carries most of its secret: redact it too). True with *start,
 * *tlen and *which (index into specs) set; false when there is none.
 */
bool		tg_token_scan(const tg_token_spec *specs, size_t nspecs,
						  const char *text, size_t len, size_t from, bool require_checksum,
						  size_t *start, size_t *tlen, size_t *which);

/* Constant-time equality of two byte strings of the same length. */
bool		tg_token_bytes_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif
