/*
 * tenantguard.h — names every glue file shares. Each module has its own
 * header (see src/README.md for the layers); this one declares no function.
 */
#ifndef TENANTGUARD_H
#define TENANTGUARD_H

#define TG_SCHEMA "tenantguard"
#define TG_POLICY_NAME "tenantguard_isolation"

#endif
