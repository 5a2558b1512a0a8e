/*
 * login_throttle.h — failed-login counters across all backends (layer 2):
 * a fixed shared-memory table keyed by a keyed hash of the normalised
 * email, so that unknown emails are counted and locked exactly like known
 * ones. Counting is immediate and outside any transaction: a rollback
 * cannot undo it.
 *
 * Every attempt is reserved before the password is checked
 * (tg_throttle_begin) and finished once the outcome is known
 * (tg_throttle_end): failures + attempts in flight never exceed
 * tenantguard.login_max_failures, so parallel backends cannot get more
 * guesses through than one backend. An attempt still in flight when its
 * backend errors out or exits counts as a failure. Locks (not counts
 * below the limit) are restored from the ledger after a restart.
 */
#ifndef TG_LOGIN_THROTTLE_H
#define TG_LOGIN_THROTTLE_H

#include "postgres.h"
#include "datatype/timestamp.h"

#define TG_THROTTLE_KEY_LEN 16

typedef enum TgThrottleOutcome
{
	TG_THROTTLE_SUCCESS,		/* credentials right: the count starts again */
	TG_THROTTLE_FAILURE,		/* a wrong guess: counted */
	TG_THROTTLE_NEUTRAL			/* no guess was made (e.g. MFA code still to come) */
} TgThrottleOutcome;

extern int	tg_login_max_failures;
extern int	tg_login_lockout_ms;

extern void tg_throttle_init(void);
extern void tg_throttle_shmem_request(void);
extern void tg_throttle_shmem_startup(void);

/*
 * The table's key of a normalised email in the current database (keyed
 * BLAKE2b: buckets cannot be steered; databases count apart).
 */
extern void tg_throttle_key(const char *email, size_t len, uint8 key[TG_THROTTLE_KEY_LEN]);

/*
 * Reserve an attempt for key. False when the key is locked (or its bucket
 * of the table is full of live entries: fail closed); *locked_until is then
 * when the lock ends (0 when unknown). One attempt per backend at a time.
 */
extern bool tg_throttle_begin(const uint8 key[TG_THROTTLE_KEY_LEN], TimestampTz *locked_until);

/*
 * Finish the reserved attempt. Returns true when this failure locked the
 * key (for the lockout event). Does nothing without a reservation.
 */
extern bool tg_throttle_end(TgThrottleOutcome outcome);

/*
 * Locks outlive a restart through the ledger: the first login of a
 * database after the server started (or restarted after a crash) restores
 * the locks its lockout events say are still in force (identity.c reads
 * them). tg_throttle_restore_needed() is true until
 * tg_throttle_restore_done() marks this database restored;
 * tg_throttle_restore_lock() locks key until locked_until (it never
 * shortens a lock in force).
 */
extern bool tg_throttle_restore_needed(void);
extern void tg_throttle_restore_done(void);
extern void tg_throttle_restore_lock(const uint8 key[TG_THROTTLE_KEY_LEN], TimestampTz locked_until);

/* Forget key's failures and lock (unlock_user). */
extern void tg_throttle_clear(const uint8 key[TG_THROTTLE_KEY_LEN]);

#endif
