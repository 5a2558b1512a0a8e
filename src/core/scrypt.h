/*
 * scrypt.h — scrypt password hashes (RFC 7914) in passlib's PHC-like format.
 *
 * Format, exactly as passlib 1.7 (Debian's python3-passlib) writes it:
 *     $scrypt$ln=<ln>,r=<r>,p=<p>$<salt>$<checksum>
 * ln = log2(N), r = block size, p = parallelism, in decimal without leading
 * zeros, in this order; salt and checksum in STANDARD base64 ("+/" alphabet,
 * passlib's b64s_encode), without '=' padding. passlib's scrypt does NOT use
 * its "ab64" ('.') alphabet: a '.' makes passlib fail. The checksum is always
 * 32 bytes (passlib refuses any other size); passlib's default salt is 16
 * bytes, configurable 0..1024. We read every salt size 1..TG_SCRYPT_SALT_MAX
 * and refuse what passlib never writes ('=' padding, '.', leading zeros, other
 * parameter order), though passlib's lenient reader takes some of it.
 *
 * Pure C (layer 0): byte buffers in, status codes out, no allocation besides
 * the scrypt work area inside OpenSSL, never abort().
 */
#ifndef TG_CORE_SCRYPT_H
#define TG_CORE_SCRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Cost parameters: N = 2^ln. */
typedef struct tg_scrypt_params
{
	unsigned	ln;				/* log2(N) */
	unsigned	r;				/* block size */
	unsigned	p;				/* parallelism */
} tg_scrypt_params;

/*
 * Limits (checked before any scrypt runs, so a hostile hash string cannot
 * make us allocate or spin): ln 1..20, r 1..32, p 1..16, and N*r <= 2^23
 * (the scrypt work area 128*r*N <= 1 GiB) and r*p <= 128 (time). The RFC 7914
 * vectors and passlib's defaults (ln=16, r=8, p=1) are inside.
 */
#define TG_SCRYPT_LN_MIN	1
#define TG_SCRYPT_LN_MAX	20
#define TG_SCRYPT_R_MAX		32
#define TG_SCRYPT_P_MAX		16
#define TG_SCRYPT_NR_MAX	(UINT64_C(1) << 23)
#define TG_SCRYPT_RP_MAX	128

#define TG_SCRYPT_SALT_LEN	16		/* salt bytes tg_scrypt_hash makes */
#define TG_SCRYPT_SALT_MAX	1024	/* largest salt read (passlib's maximum) */
#define TG_SCRYPT_HASH_LEN	32		/* checksum bytes (passlib's fixed size) */
/* Longest string tg_scrypt_hash writes, with its NUL. */
#define TG_SCRYPT_PHC_BUF	128
/* Longest string tg_scrypt_verify reads (salt of 1024 bytes fits). */
#define TG_SCRYPT_PHC_MAX	1500

typedef enum tg_scrypt_status
{
	TG_SCRYPT_OK = 0,			/* hashed / password matches */
	TG_SCRYPT_MISMATCH,			/* well-formed hash, wrong password */
	TG_SCRYPT_MALFORMED,		/* not a $scrypt$ string we read */
	TG_SCRYPT_LIMITS,			/* well-formed, parameters beyond the limits */
	TG_SCRYPT_ERROR				/* OpenSSL/libsodium failure, buffer too small */
} tg_scrypt_status;

/* Are the parameters inside the limits above? */
bool		tg_scrypt_params_ok(const tg_scrypt_params *prm);

/*
 * Bytes one scrypt with these parameters allocates, as OpenSSL computes it:
 * 128*r*(N+2) for V plus 128*r*p for B; 0 when the parameters are outside
 * the limits. A caller bounds concurrent hashing with this.
 */
uint64_t	tg_scrypt_memory(const tg_scrypt_params *prm);

/*
 * Raw scrypt (RFC 7914): out[0..outlen) = scrypt(pw, salt, N, r, p).
 * Parameters must be inside the limits; OpenSSL's maxmem is set to exactly
 * tg_scrypt_memory(prm). Returns TG_SCRYPT_OK, TG_SCRYPT_LIMITS or
 * TG_SCRYPT_ERROR (out is zeroed on failure).
 */
tg_scrypt_status tg_scrypt_raw(const uint8_t *pw, size_t pwlen,
							   const uint8_t *salt, size_t saltlen,
							   const tg_scrypt_params *prm,
							   uint8_t *out, size_t outlen);

/*
 * Note (inherent in scrypt's HMAC-SHA256): trailing NUL bytes do not change
 * the key ("pw" and "pw\0" hash alike) and a password over 64 bytes is
 * equivalent to its SHA-256; callers should refuse NUL in passwords.
 *
 * Hash a password (any bytes, NULs included) with a fresh random 16-byte
 * salt; writes the NUL-terminated PHC string to out (outcap >=
 * TG_SCRYPT_PHC_BUF suffices). Returns TG_SCRYPT_OK, TG_SCRYPT_LIMITS or
 * TG_SCRYPT_ERROR (then out is "" if outcap > 0).
 */
tg_scrypt_status tg_scrypt_hash(const uint8_t *pw, size_t pwlen,
								const tg_scrypt_params *prm,
								char *out, size_t outcap);

/*
 * Parse a PHC string of phclen bytes (need not be NUL-terminated; a NUL
 * inside is malformed) into its parameters, salt and checksum. salt needs
 * TG_SCRYPT_SALT_MAX bytes; *saltlen receives its length. Returns
 * TG_SCRYPT_OK, TG_SCRYPT_MALFORMED or TG_SCRYPT_LIMITS (well-formed, but
 * parameters outside the limits: prm is filled, salt and checksum are not
 * trusted). Runs no scrypt.
 */
tg_scrypt_status tg_scrypt_parse(const char *phc, size_t phclen,
								 tg_scrypt_params *prm,
								 uint8_t *salt, size_t *saltlen,
								 uint8_t checksum[TG_SCRYPT_HASH_LEN]);

/*
 * Verify a password against a PHC string: TG_SCRYPT_OK on a match,
 * TG_SCRYPT_MISMATCH on a wrong password, TG_SCRYPT_MALFORMED or
 * TG_SCRYPT_LIMITS without running scrypt, TG_SCRYPT_ERROR if OpenSSL fails.
 * The checksum comparison is constant time (sodium_memcmp).
 */
tg_scrypt_status tg_scrypt_verify(const uint8_t *pw, size_t pwlen,
								  const char *phc, size_t phclen);

/*
 * Should this stored hash be replaced (at the next successful login)? True
 * when it does not parse as ours (malformed, beyond the limits), or its
 * parameters differ from wanted, or its salt is not TG_SCRYPT_SALT_LEN bytes.
 */
bool		tg_scrypt_needs_rehash(const char *phc, size_t phclen,
								   const tg_scrypt_params *wanted);

#endif
