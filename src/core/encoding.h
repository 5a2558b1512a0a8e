/*
 * encoding.h — strict text encodings of binary data (pure C, libsodium).
 */
#ifndef TG_CORE_ENCODING_H
#define TG_CORE_ENCODING_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Characters needed to base64url-encode n bytes without padding (plus NUL). */
size_t		tg_b64url_encoded_len(size_t n);

/* Encode without padding; out must hold tg_b64url_encoded_len(n) bytes. */
void		tg_b64url_encode(const uint8_t *in, size_t n, char *out);

/*
 * Decode unpadded base64url of exactly len characters into out (capacity
 * outcap). Rejects padding, whitespace, the standard alphabet's '+' and '/',
 * and non-canonical trailing bits. Returns the decoded length or -1.
 */
long		tg_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outcap);

/* Characters of the padded standard base64 of n bytes (without the NUL). */
size_t		tg_b64_text_len(size_t n);

/* Encode with padding; out must hold tg_b64_text_len(n) + 1 bytes (NUL-terminated). */
void		tg_b64_encode(const uint8_t *in, size_t n, char *out);

/*
 * Decode padded standard base64 (RFC 4648 section 4) of exactly len
 * characters into out (capacity outcap). Rejects a length that is not a
 * multiple of 4, missing or extra padding, whitespace, the url-safe alphabet
 * and non-canonical trailing bits. Returns the decoded length or -1.
 */
long		tg_b64_decode(const char *in, size_t len, uint8_t *out, size_t outcap);

/* The value of one hex digit (either case), -1 for any other character. */
int			tg_hex_digit(char c);

/* Decode exactly 2*n hex digits (either case) into n bytes. */
bool		tg_hex_decode(const char *in, size_t len, uint8_t *out, size_t n);

#endif
