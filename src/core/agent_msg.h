/*
 * agent_msg.h — the signed messages of agent logins and key rotations, their
 * encodings and Ed25519 over libsodium (pure C, no postgres.h). Shared by the
 * extension (agent_login, rotate_agent_key, enroll) and the command-line
 * tool tenantguard-agent (tools/agent/), so both build the same bytes.
 *
 * Messages (API.md, "Enrollment and agents"), no trailing newline:
 *   login:  "tenantguard-agent-login\n<agent_id>\n<ts>\n<nonce>"
 *   rotate: "tenantguard-agent-rotate\n<agent_id>\n<new_public_key>"
 * Field rules:
 *   agent_id        canonical lower-case 8-4-4-4-12 uuid text (36 chars)
 *   ts              Unix seconds, 0 .. INT64_MAX, written in decimal without
 *                   sign or leading zeros ("0" for zero) — the text of the
 *                   bigint; as text it is parsed by tg_agent_ts_parse
 *   nonce           16..64 characters of [A-Za-z0-9_-]
 *   new_public_key  padded standard base64 of exactly 32 bytes (44 chars,
 *                   canonical: zero trailing bits) that is a valid Ed25519 point
 * Signatures are padded standard base64 of 64 bytes (88 chars).
 * Fingerprint: "SHA256:" + standard base64 of SHA-256(public key) without
 * padding (43 chars), as OpenSSH prints key fingerprints.
 */
#ifndef TG_CORE_AGENT_MSG_H
#define TG_CORE_AGENT_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define TG_AGENT_PK_LEN			32	/* Ed25519 public key */
#define TG_AGENT_SEED_LEN		32	/* Ed25519 private key seed */
#define TG_AGENT_SK_LEN			64	/* libsodium secret key (seed || public key) */
#define TG_AGENT_SIG_LEN		64
#define TG_AGENT_PK_TEXT_LEN	44	/* base64 of 32 bytes */
#define TG_AGENT_SIG_TEXT_LEN	88	/* base64 of 64 bytes */
#define TG_AGENT_FP_TEXT_LEN	50	/* "SHA256:" + 43 */
#define TG_AGENT_NONCE_MIN		16
#define TG_AGENT_NONCE_MAX		64
#define TG_AGENT_TS_MAX_DIGITS	19	/* INT64_MAX */
/* room for the longer of the two messages plus a NUL */
#define TG_AGENT_MSG_MAX		192

#define TG_AGENT_LOGIN_PREFIX	"tenantguard-agent-login"
#define TG_AGENT_ROTATE_PREFIX	"tenantguard-agent-rotate"

typedef enum tg_agent_status
{
	TG_AGENT_OK = 0,
	TG_AGENT_BAD_ID = -1,		/* agent_id not canonical uuid text */
	TG_AGENT_BAD_TS = -2,		/* ts negative or not canonical decimal */
	TG_AGENT_BAD_NONCE = -3,	/* nonce length or alphabet */
	TG_AGENT_BAD_KEY = -4,		/* public key not base64 of a valid 32-byte point */
	TG_AGENT_TOO_SMALL = -5		/* the output buffer */
} tg_agent_status;

/* Field checks (len bytes, need not be NUL-terminated). */
bool		tg_agent_id_valid(const char *id, size_t len);
bool		tg_agent_nonce_valid(const char *nonce, size_t len);
/* Strict decimal Unix seconds: digits only, no sign, no leading zero, <= INT64_MAX. */
bool		tg_agent_ts_parse(const char *text, size_t len, int64_t *ts);

/*
 * Build a message into out (capacity outcap, NUL-terminated). Returns its
 * length (without the NUL) or a negative tg_agent_status; nothing is
 * written on failure but out[0] = '\0' when outcap > 0.
 */
int			tg_agent_login_msg(const char *agent_id, size_t id_len, int64_t ts,
							   const char *nonce, size_t nonce_len,
							   char *out, size_t outcap);
int			tg_agent_rotate_msg(const char *agent_id, size_t id_len,
								const char *new_pk, size_t pk_len,
								char *out, size_t outcap);

/* Public keys and signatures as text (strict parse; encode writes a NUL too). */
bool		tg_agent_pk_parse(const char *text, size_t len, uint8_t pk[TG_AGENT_PK_LEN]);
void		tg_agent_pk_encode(const uint8_t pk[TG_AGENT_PK_LEN], char out[TG_AGENT_PK_TEXT_LEN + 1]);
bool		tg_agent_sig_parse(const char *text, size_t len, uint8_t sig[TG_AGENT_SIG_LEN]);
void		tg_agent_sig_encode(const uint8_t sig[TG_AGENT_SIG_LEN], char out[TG_AGENT_SIG_TEXT_LEN + 1]);

/* "SHA256:<43 chars>" plus a NUL. */
void		tg_agent_fingerprint(const uint8_t pk[TG_AGENT_PK_LEN], char out[TG_AGENT_FP_TEXT_LEN + 1]);

/* Ed25519 (libsodium). The caller wipes sk (sodium_memzero) when done. */
bool		tg_agent_keypair_from_seed(const uint8_t seed[TG_AGENT_SEED_LEN],
									   uint8_t pk[TG_AGENT_PK_LEN],
									   uint8_t sk[TG_AGENT_SK_LEN]);
bool		tg_agent_sign(const uint8_t sk[TG_AGENT_SK_LEN], const char *msg, size_t len,
						  uint8_t sig[TG_AGENT_SIG_LEN]);
/* Constant-time in the secret-free sense of libsodium; false for any bad signature. */
bool		tg_agent_verify(const uint8_t pk[TG_AGENT_PK_LEN], const char *msg, size_t len,
							const uint8_t sig[TG_AGENT_SIG_LEN]);

#endif
