# tenantguard — PGXS build plus the set-up commands (make demo, make test, make test-citus).

EXTENSION   = tenantguard
EXTVERSION  = 0.1.0
MODULE_big  = tenantguard
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c src/core/*.c)))

# The extension script is assembled from sql/parts/NN_<concern>.sql, in name
# order, into tenantguard--0.1.0.sql at the top level (generated, not in git).
SQL_PARTS   = $(sort $(wildcard sql/parts/*.sql))
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql

# pg_regress: sql/*.sql against expected/*.out
REGRESS     = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --outputdir=test/results/regress
# isolation tester: test/isolation/specs/*.spec against test/isolation/expected/*.out
ISOLATION   = $(patsubst test/isolation/specs/%.spec,%,$(sort $(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=test/results/isolation --load-extension=$(EXTENSION)

PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter
SHLIB_LINK  = -lsodium -lcrypto

# Debian's server-side pg_config; fall back to whatever is on PATH.
PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)

.DEFAULT_GOAL := all

.PHONY: prereqs test test-citus demo bench unit

# Installs the Debian packages the build, tests and demo need (idempotent).
prereqs:
	@bash test/install-prereqs.sh

unit:
	@$(MAKE) -s -C test/unit run

test: prereqs
	@$(MAKE) -s all
	@$(MAKE) -s install >/dev/null
	@bash test/run-all.sh

# The Citus suite (test/suites/citus.sh), apart from make test: the first run
# builds Citus 13.2.2 from ../shared/vendor/citus (about 2.5 minutes, as root,
# into the system PostgreSQL), then a coordinator and two workers (~40 s).
# .ci/run runs both.
test-citus: prereqs
	@$(MAKE) -s all
	@$(MAKE) -s install >/dev/null
	@bash test/suites/citus.sh

demo: prereqs
	@$(MAKE) -s all
	@$(MAKE) -s install >/dev/null
	@bash test/demo.sh

# Benchmarks (not part of make test): isolation, secrets, audit, tokens, authz, identity; each
# reports ratios or costs against baselines measured in the same run.
# BENCH=isolation|secrets|audit|tokens|authz|identity picks one.
BENCH ?= isolation secrets audit tokens authz identity
bench: prereqs
	@$(MAKE) -s all
	@$(MAKE) -s install >/dev/null
	@for b in $(BENCH); do \
		case $$b in isolation) f=test/bench/run.sh ;; *) f=test/bench/$$b.sh ;; esac; \
		echo "== benchmark: $$b"; bash $$f || exit 1; \
	done

# before pgxs.mk, which reads it when it is included
EXTRA_CLEAN = test/results test/unit/*.o test/unit/run_unit test/unit/run_unit_san test/unit/replay_*

ifneq ($(shell command -v $(PG_CONFIG) 2>/dev/null),)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
else
all install installcheck clean:
	@echo "pg_config not found: run 'make test' or 'make demo' (they install prerequisites), or install postgresql-server-dev-15" >&2
	@exit 1
endif

# every object depends on every header (the headers are few and shared)
$(OBJS): $(wildcard src/*.h src/core/*.h)

# one blank line between parts; the directory is a prerequisite so that adding,
# removing or renaming a part rebuilds the script
$(DATA_built): $(SQL_PARTS) sql/parts
	awk 'FNR == 1 && NR > 1 { print "" } { print }' $(SQL_PARTS) > $@.tmp && mv $@.tmp $@


# The agent host's command-line tool (tools/agent/, its own small Makefile):
# make builds it, make install puts it into PostgreSQL's bindir.
AGENT_TOOL = tools/agent/tenantguard-agent

.PHONY: agent-tool install-agent-tool uninstall-agent-tool clean-agent-tool

all: agent-tool
install: install-agent-tool
uninstall: uninstall-agent-tool
clean: clean-agent-tool

agent-tool:
	$(MAKE) -C tools/agent

install-agent-tool: agent-tool
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) $(AGENT_TOOL) '$(DESTDIR)$(bindir)/tenantguard-agent'

uninstall-agent-tool:
	rm -f '$(DESTDIR)$(bindir)/tenantguard-agent'

clean-agent-tool:
	$(MAKE) -C tools/agent clean
