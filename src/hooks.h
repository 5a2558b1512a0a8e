/*
 * hooks.h — installing PostgreSQL's hooks (layer 9).
 */
#ifndef TG_HOOKS_H
#define TG_HOOKS_H

extern void tg_hooks_install(void);

#endif
