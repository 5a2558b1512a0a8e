/*
 * audit_worker.h — the ledger's background workers (layer 7).
 */
#ifndef TG_AUDIT_WORKER_H
#define TG_AUDIT_WORKER_H

extern void tg_audit_worker_init(void);

#endif
