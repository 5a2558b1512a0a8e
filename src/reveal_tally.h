/*
 * reveal_tally.h — counting reveals so that a rollback cannot hide them (layer 5).
 */
#ifndef TG_REVEAL_TALLY_H
#define TG_REVEAL_TALLY_H

#include "postgres.h"

/* Count one reveal of a secret of tenant by the current actor. */
extern void tg_tally_reveal(const uint8_t tenant[16]);

#endif
