/*
 * password.h — scrypt password hashes for SQL and for the login path
 * (layer 2): the settings (costs, policy, the server-wide bound on
 * concurrent scrypt runs), the password policy, hashing and verifying in
 * passlib's "$scrypt$" PHC form (src/core/scrypt.h), and the dummy run for
 * unknown accounts.
 *
 * Passwords arrive in the database encoding and are hashed as UTF-8 bytes
 * (what passlib hashes), without Unicode normalisation.
 *
 * Every scrypt run passes through a shared-memory bound: at most
 * tenantguard.scrypt_max_concurrent runs at once in the whole server, and
 * their work areas (128*r*N bytes each, 32 MiB at the default 15/8/3) at
 * most tenantguard.scrypt_max_memory together; other callers wait, and the
 * wait is interruptible (statement_timeout, pg_cancel_backend). Without
 * shared_preload_libraries there is no bound: every function that would run
 * scrypt raises 55000 instead (with a hint naming the setting).
 *
 * No error message, detail or hint ever contains the password or the hash.
 */
#ifndef TG_PASSWORD_H
#define TG_PASSWORD_H

#include "postgres.h"

/* Settings (from _PG_init) and the shared memory of the bound (from the shmem hooks). */
extern void tg_password_init(void);
extern void tg_password_shmem_request(void);
extern void tg_password_shmem_startup(void);

/*
 * The checks every password passes before scrypt sees it, without the
 * minimum length (which applies to new passwords only): at most
 * tenantguard.password_max_length bytes (as UTF-8), no NUL byte, valid
 * UTF-8 (convertible to UTF-8 when the database encoding is not UTF-8).
 * ERROR 22023 otherwise, never echoing the password.
 */
extern void tg_password_check_input(const char *pw, size_t len);

/*
 * Policy for a new password: tg_password_check_input plus at least
 * tenantguard.password_min_length characters. ERROR 22023 otherwise.
 */
extern void tg_password_check_policy(const char *pw, size_t len);

/*
 * A new PHC string at the current settings (scrypt_log_n|r|p), fresh
 * 16-byte salt; the policy is checked first. palloc'ed. ERROR 22023 when
 * the three cost settings together are outside src/core/scrypt.h's limits,
 * 53400 when one run needs more than tenantguard.scrypt_max_memory.
 */
extern char *tg_password_hash(const char *pw, size_t len);

/*
 * Does the password match the PHC string (NUL-terminated)? Constant-time
 * comparison. False, without running scrypt, for a malformed or foreign hash,
 * one with parameters beyond the core's limits or needing more than
 * tenantguard.scrypt_max_memory, and for a password that fails
 * tg_password_check_input (callers that want an error call it first). Never
 * raises for any of those; raises only when not preloaded (55000), on
 * cancel/timeout while waiting for the bound, or if OpenSSL fails (58000).
 */
extern bool tg_password_verify(const char *pw, size_t len, const char *phc);

/*
 * Spend what tg_password_verify spends on a well-formed hash at the current
 * settings (one scrypt with a random salt through the same bound), and
 * return nothing: for unknown accounts, so that they cost what known ones
 * cost. Input that tg_password_verify would refuse without scrypt is
 * refused here the same way (nothing is run).
 */
extern void tg_password_burn(const char *pw, size_t len);

/*
 * Should the stored hash be replaced (after a successful verify)? True when
 * it is not one of ours (malformed, foreign, beyond the limits), or its
 * ln/r/p differ from the current settings, or its salt is not 16 bytes.
 */
extern bool tg_password_needs_rehash(const char *phc);

#endif
