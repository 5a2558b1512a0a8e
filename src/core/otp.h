/*
 * otp.h — one-time passwords (pure C, OpenSSL 3 HMAC, libsodium):
 * HOTP (RFC 4226), TOTP (RFC 6238), base32 (RFC 4648 section 6) and the
 * otpauth Key URI that authenticator apps scan.
 *
 * HMAC is OpenSSL's (HMAC()): libsodium has HMAC-SHA256/512 but not
 * HMAC-SHA1, which RFC 4226 and every authenticator's default need, and one
 * library for the three hashes keeps them on one code path.
 *
 * Limits: keys of TG_OTP_KEY_MIN..TG_OTP_KEY_MAX bytes (80 bits, what
 * Google Authenticator accepts, up to the 64 bytes of RFC 6238's SHA-512
 * seed); 6..8 digits; time steps of 1..86400 seconds with T0 = 0; times
 * before 1970 refused; verification windows of 0..TG_OTP_WINDOW_MAX steps
 * each side. Every function returns failure for anything outside them and
 * never aborts.
 */
#ifndef TG_CORE_OTP_H
#define TG_CORE_OTP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define TG_OTP_KEY_MIN 10
#define TG_OTP_KEY_MAX 64
#define TG_OTP_KEY_DEFAULT 20	/* new secrets: 160 bits, RFC 4226's recommendation */
#define TG_OTP_DIGITS_MIN 6
#define TG_OTP_DIGITS_MAX 8
#define TG_OTP_PERIOD_DEFAULT 30
#define TG_OTP_PERIOD_MAX 86400
#define TG_OTP_WINDOW_MAX 10
#define TG_OTP_CODE_BUF (TG_OTP_DIGITS_MAX + 1)

typedef enum tg_otp_alg
{
	TG_OTP_SHA1 = 1,
	TG_OTP_SHA256 = 2,
	TG_OTP_SHA512 = 3
} tg_otp_alg;

/* The algorithm's name in a Key URI ("SHA1", "SHA256", "SHA512"), NULL if unknown. */
const char *tg_otp_alg_name(tg_otp_alg alg);

/* Parse "SHA1"/"SHA256"/"SHA512" (exact, upper case, len bytes); false otherwise. */
bool		tg_otp_alg_parse(const char *name, size_t len, tg_otp_alg *alg);

/*
 * HOTP value (RFC 4226 section 5.3): HMAC(key, counter as 8 big-endian
 * bytes), dynamic truncation, modulo 10^digits, into *code. False for a key
 * length, algorithm or digits outside the limits, or an HMAC failure.
 */
bool		tg_hotp(const uint8_t *key, size_t keylen, tg_otp_alg alg,
					uint64_t counter, int digits, uint32_t *code);

/*
 * The time step of unix_time: floor(unix_time / period) (T0 = 0). False for
 * a negative time or a period outside 1..TG_OTP_PERIOD_MAX.
 */
bool		tg_totp_step(int64_t unix_time, int period, uint64_t *step);

/*
 * Write code as exactly digits decimal characters with leading zeros and a
 * NUL into out (TG_OTP_CODE_BUF bytes). False if digits is out of range or
 * code has more digits.
 */
bool		tg_otp_format(uint32_t code, int digits, char out[TG_OTP_CODE_BUF]);

/*
 * Parse a code given as text: exactly digits ASCII digits ('0'..'9';
 * leading zeros are part of the code, "000123" is valid); no spaces, signs
 * or other lengths. False otherwise.
 */
bool		tg_otp_parse_code(const char *text, size_t len, int digits, uint32_t *code);

/* TOTP code at unix_time as text (tg_totp_step, tg_hotp, tg_otp_format). */
bool		tg_totp_code(const uint8_t *key, size_t keylen, tg_otp_alg alg,
						 int digits, int period, int64_t unix_time,
						 char out[TG_OTP_CODE_BUF]);

/* tg_totp_verify's result. */
typedef enum tg_otp_verdict
{
	TG_OTP_ERROR = -1,			/* bad parameters (key, digits, period, window, time) */
	TG_OTP_REJECT = 0,			/* malformed code, no match, or only replayed steps match */
	TG_OTP_ACCEPT = 1			/* *matched_step is the step to persist */
} tg_otp_verdict;

/*
 * Verify code (text, codelen bytes, tg_otp_parse_code's format) at unix_time
 * against the steps current-window .. current+window (steps below 0 do not
 * exist). A step <= last_step is never accepted (replay protection: the
 * caller persists the returned step as its new last_step); last_step < 0
 * means none yet. Every step of the window is computed and compared in
 * constant time, without early exit, so timing does not tell which step
 * matched. If several eligible steps match, the highest is returned.
 */
tg_otp_verdict tg_totp_verify(const uint8_t *key, size_t keylen, tg_otp_alg alg,
							  int digits, int period, int64_t unix_time, int window,
							  int64_t last_step, const char *code, size_t codelen,
							  uint64_t *matched_step);

/* Fill out with n random bytes (libsodium); false if n is outside the key limits. */
bool		tg_otp_new_secret(uint8_t *out, size_t n);

/*
 * Characters needed to base32-encode n bytes, with or without '=' padding,
 * plus the NUL.
 */
size_t		tg_base32_encoded_len(size_t n, bool pad);

/*
 * Encode n bytes in base32 (upper case, RFC 4648 alphabet) into out
 * (tg_base32_encoded_len(n, pad) bytes), NUL-terminated. Key URIs use it
 * without padding, as authenticators expect.
 */
void		tg_base32_encode(const uint8_t *in, size_t n, bool pad, char *out);

/*
 * Decode len characters of base32 into out (capacity outcap): letters in
 * either case, padding optional, but if present complete (the text a
 * multiple of 8 characters, the right number of '=' for the final group,
 * nothing after it). Refuses other characters (spaces, '0', '1', '8', '9'),
 * impossible lengths, non-canonical trailing bits and output longer than
 * outcap. Returns the decoded length or -1.
 */
long		tg_base32_decode(const char *in, size_t len, uint8_t *out, size_t outcap);

/*
 * The otpauth Key URI:
 *   otpauth://totp/<issuer>:<account>?secret=<BASE32>&issuer=<issuer>
 *     &algorithm=SHA1|SHA256|SHA512&digits=<d>&period=<p>
 * issuer and account (byte strings, UTF-8 by convention, non-empty, no NUL)
 * are percent-encoded: RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~)
 * kept, every other byte (':' included, so the label stays unambiguous) as
 * %XX in upper case. The secret is unpadded base32. Written NUL-terminated
 * into out (outcap bytes); returns its length without the NUL, or -1 for bad
 * parameters or when it does not fit (out is then wiped: it held the secret).
 */
long		tg_otp_uri(const char *issuer, size_t issuer_len,
					   const char *account, size_t account_len,
					   const uint8_t *key, size_t keylen, tg_otp_alg alg,
					   int digits, int period, char *out, size_t outcap);

#endif
