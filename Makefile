# One non-recursive Makefile (git model). All outputs go under $(B)/.
#   make                      build the three services
#   make check                unit tests, then the end-to-end suites against real servers
#   make SANITIZE=address,undefined check   the same under ASan/UBSan (outputs in build-asan/)
#   make run / stop / logs    the local stack (scripts/run.sh; REDIS_MODE=cluster make run: on a
#                             6-node Redis Cluster; RUN_DIR= and the port variables
#                             it documents run a second, private one)
# Knobs: O= (optimisation level), V=1 (verbose), CC=clang, SANITIZE=...

CC ?= cc
O ?= 2
SANITIZE ?=

ifeq ($(SANITIZE),)
B := build
SANFLAGS :=
else
B := build-asan
SANFLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
# FUZZ=1: the libFuzzer build of tests/fuzz (clang; outputs in build-fuzz/). FUZZ=driver: the
# same targets with tests/fuzz/driver.c instead of libFuzzer, any compiler (build-fuzz-driver/).
ifeq ($(FUZZ),1)
CC := clang
B := build-fuzz
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_LINK := -fsanitize=fuzzer
else ifeq ($(FUZZ),driver)
B := build-fuzz-driver
FUZZ_LINK :=
endif

ifneq ($(V),1)
Q := @
endif

PKGS_ALL := libmicrohttpd libpq jansson hiredis
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wwrite-strings -Wvla -Wformat=2 -Wno-unused-parameter
HARDEN := -fstack-protector-strong
ifeq ($(SANFLAGS),)
HARDEN += -D_FORTIFY_SOURCE=2
endif
CPPFLAGS_ALL := -D_GNU_SOURCE -Ishared $(shell pkg-config --cflags $(PKGS_ALL) cmocka \
	libpcre2-8 yaml-0.1 libmaxminddb libcrypto 2>/dev/null)
CFLAGS_ALL := -std=c11 -O$(O) -g $(WARN) $(HARDEN) $(SANFLAGS) $(CFLAGS)
LDFLAGS_ALL := $(SANFLAGS) -Wl,-z,relro,-z,now $(LDFLAGS)

LIBS_MHD := $(shell pkg-config --libs libmicrohttpd 2>/dev/null)
LIBS_PQ := $(shell pkg-config --libs libpq 2>/dev/null)
LIBS_JANSSON := $(shell pkg-config --libs jansson 2>/dev/null)
LIBS_HIREDIS := $(shell pkg-config --libs hiredis 2>/dev/null)
LIBS_CMOCKA := $(shell pkg-config --libs cmocka 2>/dev/null)
# SHA-256 for Idempotency-Key (write-svc/idempotency.c); linked into write-svc only.
LIBS_CRYPTO := $(shell pkg-config --libs libcrypto 2>/dev/null)
# QR codes (write-svc/qr.c): only write-svc and test_qr link them.
CPPFLAGS_QR := $(shell pkg-config --cflags libqrencode libpng 2>/dev/null)
LIBS_QR := $(shell pkg-config --libs libqrencode libpng 2>/dev/null)
$(B)/obj/write-svc/qr.o: CPPFLAGS_ALL += $(CPPFLAGS_QR)
$(B)/obj/tests/unit/test_qr.o: CPPFLAGS_ALL += $(CPPFLAGS_QR)
# The worker's analytics: uap-core rules (libyaml, PCRE2), GeoIP, the visitor hash (libcrypto).
LIBS_ANALYTICS := $(shell pkg-config --libs libpcre2-8 yaml-0.1 libmaxminddb libcrypto 2>/dev/null)
LIBS_SYS := -lpthread -lm

SHARED_SRCS := \
	shared/buf.c \
	shared/clickstream.c \
	shared/config.c \
	shared/csv.c \
	shared/db.c \
	shared/entropy.c \
	shared/err.c \
	shared/http.c \
	shared/http_core.c \
	shared/http_stream.c \
	shared/jcompact.c \
	shared/jx.c \
	shared/kv.c \
	shared/kvcluster.c \
	shared/kvcluster_io.c \
	shared/kvcluster_map.c \
	shared/kvslot.c \
	shared/kvthread.c \
	shared/log.c \
	shared/metrics.c \
	shared/multipart.c \
	shared/netaddr.c \
	shared/rkeys.c \
	shared/router.c \
	shared/shortcode.c \
	shared/signals.c \
	shared/svc.c \
	shared/timefmt.c \
	shared/utf8.c \
	shared/validate.c

WRITE_SRCS := \
	write-svc/main.c \
	write-svc/routes.c \
	write-svc/clicksync.c \
	write-svc/h_health.c \
	write-svc/h_metrics.c \
	write-svc/h_openapi.c \
	write-svc/h_users.c \
	write-svc/h_bulk.c \
	write-svc/bulkcheck.c \
	write-svc/h_urls.c \
	write-svc/h_stats.c \
	write-svc/h_events.c \
	write-svc/h_qr.c \
	write-svc/h_live.c \
	write-svc/h_ui.c \
	write-svc/h_system.c \
	write-svc/scrape.c \
	write-svc/live.c \
	write-svc/qr.c \
	write-svc/reply.c \
	write-svc/store.c \
	write-svc/store_users.c \
	write-svc/store_urls.c \
	write-svc/store_stats.c \
	write-svc/store_events.c \
	write-svc/readmodel.c \
	write-svc/linkopts.c \
	write-svc/idempotency.c \
	write-svc/ratelimit.c \
	write-svc/dest.c \
	write-svc/apikey.c \
	write-svc/auth.c \
	write-svc/keys.c \
	write-svc/h_apikeys.c \
	write-svc/store_apikeys.c

REDIRECT_SRCS := \
	redirect-svc/main.c \
	redirect-svc/server.c \
	redirect-svc/loop.c \
	redirect-svc/follow.c \
	redirect-svc/rstats.c \
	redirect-svc/ncache.c \
	redirect-svc/client.c

WORKER_SRCS := \
	event-worker/main.c \
	event-worker/consumer.c \
	event-worker/batch.c \
	event-worker/monitor.c \
	event-worker/entry.c \
	event-worker/sink_pg.c \
	event-worker/clickdict.c \
	event-worker/rollup.c \
	event-worker/retention.c \
	event-worker/backoff.c \
	event-worker/exporter.c \
	event-worker/derive.c \
	event-worker/geoip.c \
	event-worker/hll.c \
	event-worker/refhost.c \
	event-worker/salt.c \
	event-worker/uacache.c \
	event-worker/uaparse.c \
	event-worker/visitor.c

UNIT_TESTS := \
	apikey \
	buf \
	client \
	config \
	csv \
	db \
	dest \
	entry \
	follow \
	http \
	idempotency \
	jcompact \
	jx \
	kvslot \
	live \
	log \
	multipart \
	ncache \
	netaddr \
	qr \
	refhost \
	rkeys \
	rollup \
	router \
	shortcode \
	timefmt \
	uaparse \
	utf8 \
	validate \
	visitor

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

SHARED_OBJS := $(call obj,$(SHARED_SRCS))
WRITE_OBJS := $(call obj,$(WRITE_SRCS))
# docs/openapi.json compiled in (scripts/embed.sh): GET /openapi.json needs no file at run time.
OPENAPI_DOC := docs/openapi.json
OPENAPI_OBJ := $(B)/obj/gen/openapi_json.o
WRITE_OBJS += $(OPENAPI_OBJ)
# The dashboard (ui/, DECISIONS U1): npm ci pins its packages (ui/package-lock.json), ui/build.mjs
# bundles it with content-hashed names into $(B)/ui/dist, and scripts/embed-ui.sh compiles the
# files into write-svc (write-svc/h_ui.c serves them at / and /ui/).
UI_SRCS := ui/build.mjs $(sort $(wildcard ui/src/*))
UI_MODULES := ui/node_modules/.package-lock.json
UI_DIST := $(B)/ui/dist
UI_OBJ := $(B)/obj/gen/ui_assets.o
WRITE_OBJS += $(UI_OBJ)
REDIRECT_OBJS := $(call obj,$(REDIRECT_SRCS))
WORKER_OBJS := $(call obj,$(WORKER_SRCS))
UNIT_BINS := $(patsubst %,$(B)/tests/unit/test_%,$(UNIT_TESTS))
E2E_SRCS := \
	tests/e2e/test_api.c \
	tests/e2e/httpc.c \
	tests/e2e/e2e_util.c \
	tests/e2e/test_bodies.c \
	tests/e2e/test_users.c \
	tests/e2e/test_bulk.c \
	tests/e2e/test_urls.c \
	tests/e2e/test_urls_write.c \
	tests/e2e/test_events.c \
	tests/e2e/test_linkopts.c \
	tests/e2e/test_idempotency.c \
	tests/e2e/test_seeded.c \
	tests/e2e/test_compact.c \
	tests/e2e/test_dest.c \
	tests/e2e/test_hostile.c
E2E_BIN := $(B)/tests/e2e/test_api
SYSTEM_SRCS := \
	tests/system/systest.c \
	tests/system/sys.c \
	tests/system/sysload.c \
	tests/system/syscoher.c \
	tests/system/test_flows.c \
	tests/system/test_links.c \
	tests/system/test_redis.c \
	tests/e2e/httpc.c \
	tests/e2e/e2e_util.c
SYSTEM_BIN := $(B)/tests/system/systest
# A service joins the build once its main.c exists (redirect-svc and event-worker came later).
BINS := $(B)/bin/write-svc $(if $(wildcard redirect-svc/main.c),$(B)/bin/redirect-svc) \
	$(if $(wildcard event-worker/main.c),$(B)/bin/event-worker)

.PHONY: all check check-unit check-integration check-e2e check-system check-docs tests clean run stop logs deps format format-check \
	check-headers

all: $(BINS)

# Rebuild everything when the effective flags change (git's GIT-CFLAGS trick).
FLAGS_NOW := $(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDFLAGS_ALL)
$(B)/CFLAGS.stamp: FORCE
	@mkdir -p $(B)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(FLAGS_NOW)' ]; then echo '$(FLAGS_NOW)' > $@; fi
.PHONY: FORCE
FORCE:

# Keep the test objects: they are intermediates of pattern rules, and make would delete them.
.SECONDARY:

$(B)/obj/%.o: %.c $(B)/CFLAGS.stamp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -MF $(@:.o=.d) -c -o $@ $<

$(B)/gen/openapi_json.c: $(OPENAPI_DOC) scripts/embed.sh
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)scripts/embed.sh openapi_json $(OPENAPI_DOC) >$@.tmp && mv $@.tmp $@

$(OPENAPI_OBJ): $(B)/gen/openapi_json.c $(B)/CFLAGS.stamp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

$(UI_MODULES): ui/package.json ui/package-lock.json
	@$(if $(Q),echo "  NPM     ui (npm ci)")
	$(Q)command -v npm >/dev/null || { echo "npm not found: run make deps" >&2; exit 1; }
	$(Q)cd ui && npm ci --no-audit --no-fund --loglevel=error >&2
	$(Q)touch $@

$(UI_DIST)/index.html: $(UI_SRCS) $(UI_MODULES)
	@$(if $(Q),echo "  UI      $(UI_DIST)")
	$(Q)rm -rf $(UI_DIST) && node ui/build.mjs $(UI_DIST)

$(B)/gen/ui_assets.c: $(UI_DIST)/index.html scripts/embed-ui.sh
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)scripts/embed-ui.sh $(UI_DIST) >$@.tmp && mv $@.tmp $@

$(UI_OBJ): $(B)/gen/ui_assets.c $(B)/CFLAGS.stamp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

$(B)/libshared.a: $(SHARED_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/bin/write-svc: $(WRITE_OBJS) $(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_MHD) $(LIBS_PQ) $(LIBS_JANSSON) $(LIBS_HIREDIS) \
		$(LIBS_CRYPTO) $(LIBS_QR) $(LIBS_SYS)

# redirect-svc never links libpq.
$(B)/bin/redirect-svc: $(REDIRECT_OBJS) $(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_MHD) $(LIBS_JANSSON) $(LIBS_HIREDIS) $(LIBS_SYS)

$(B)/bin/event-worker: $(WORKER_OBJS) $(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_MHD) $(LIBS_PQ) $(LIBS_JANSSON) $(LIBS_HIREDIS) \
		$(LIBS_ANALYTICS) $(LIBS_SYS)

# Unit tests link their module's objects before libshared.a (the archive is searched once).
LINK_TEST = $(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CMOCKA) $(LIBS_MHD) $(LIBS_PQ) $(LIBS_JANSSON) $(LIBS_HIREDIS) $(LIBS_SYS)

# test_idempotency tests write-svc's idempotency.c (SHA-256 from libcrypto).
$(B)/tests/unit/test_idempotency: $(B)/obj/tests/unit/test_idempotency.o \
		$(B)/obj/write-svc/idempotency.o $(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(LINK_TEST) $(LIBS_CRYPTO)

# test_dest tests write-svc's destination rules.
$(B)/tests/unit/test_dest: $(B)/obj/tests/unit/test_dest.o $(B)/obj/write-svc/dest.o \
		$(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(LINK_TEST)

# test_apikey tests write-svc's apikey.c (SHA-256 from libcrypto).
$(B)/tests/unit/test_apikey: $(B)/obj/tests/unit/test_apikey.o $(B)/obj/write-svc/apikey.o \
		$(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(LINK_TEST) $(LIBS_CRYPTO)

# test_entry tests event-worker code that is not in libshared.
$(B)/tests/unit/test_entry: $(B)/obj/tests/unit/test_entry.o $(B)/obj/event-worker/entry.o \
		$(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(LINK_TEST)

# test_qr tests write-svc's QR encoder, the only unit test that links libqrencode and libpng.
$(B)/tests/unit/test_qr: $(B)/obj/tests/unit/test_qr.o $(B)/obj/write-svc/qr.o $(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(LINK_TEST) $(LIBS_QR)

# test_live tests write-svc's live feed rendering (live.o runs a thread and a Redis handle).
$(B)/tests/unit/test_live: $(B)/obj/tests/unit/test_live.o $(B)/obj/write-svc/live.o $(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(LINK_TEST)

# The worker's sums of a part's rollup rows.
$(B)/tests/unit/test_rollup: $(B)/obj/tests/unit/test_rollup.o $(B)/obj/event-worker/rollup.o \
		$(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(LINK_TEST)

# test_ncache tests redirect-svc's near-cache table.
$(B)/tests/unit/test_ncache: $(B)/obj/tests/unit/test_ncache.o $(B)/obj/redirect-svc/ncache.o \
		$(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(LINK_TEST)

# test_client tests redirect-svc's self host list.
$(B)/tests/unit/test_client: $(B)/obj/tests/unit/test_client.o $(B)/obj/redirect-svc/client.o \
		$(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(LINK_TEST)

# test_follow tests how redirect-svc reads the near-cache part of the script's replies.
$(B)/tests/unit/test_follow: $(B)/obj/tests/unit/test_follow.o $(B)/obj/redirect-svc/follow.o \
		$(B)/obj/redirect-svc/ncache.o $(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(LINK_TEST)

# The analytics parsers of the worker, each with the objects it needs.
$(B)/tests/unit/test_refhost: $(B)/obj/tests/unit/test_refhost.o $(B)/obj/event-worker/refhost.o \
		$(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(LINK_TEST)

$(B)/tests/unit/test_uaparse: $(B)/obj/tests/unit/test_uaparse.o \
		$(B)/obj/event-worker/uaparse.o $(B)/obj/event-worker/uacache.o $(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(LINK_TEST) $(LIBS_ANALYTICS)

$(B)/tests/unit/test_visitor: $(B)/obj/tests/unit/test_visitor.o $(B)/obj/event-worker/visitor.o \
		$(B)/obj/event-worker/hll.o $(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(LINK_TEST) $(LIBS_ANALYTICS)

$(B)/tests/unit/test_%: $(B)/obj/tests/unit/test_%.o $(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(LINK_TEST)

# test_idempotency.c plants Redis records with write-svc's own encoder (idempotency.o).
$(E2E_BIN): $(call obj,$(E2E_SRCS)) $(B)/obj/write-svc/idempotency.o $(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CMOCKA) $(LIBS_MHD) $(LIBS_JANSSON) $(LIBS_HIREDIS) \
		$(LIBS_CRYPTO) $(LIBS_SYS)

$(SYSTEM_BIN): $(call obj,$(SYSTEM_SRCS)) $(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_CMOCKA) $(LIBS_PQ) $(LIBS_JANSSON) $(LIBS_HIREDIS) $(LIBS_SYS)

tests: $(UNIT_BINS) $(E2E_BIN) $(SYSTEM_BIN)

# --- Fuzzing (tests/fuzz, docs/SECURITY.md "Fuzzing") ----------------------------------------
# make check-fuzz         replay tests/fuzz/corpus/<t> and tests/fuzz/regression/<t> once
# make fuzz               fuzz each target for FUZZ_SECONDS (default 60) seconds
# libFuzzer with clang when its runtime links, else the plain driver (FUZZ=driver) with $(CC).
FUZZ_TARGETS := csv multipart jcompact router entry config validate qr dispatch kvslot
FUZZ_SECONDS ?= 60
FUZZ_BINS := $(patsubst %,$(B)/fuzz/fuzz_%,$(FUZZ_TARGETS))
FUZZ_COMMON := $(call obj,tests/fuzz/fuzz_util.c) \
	$(if $(FUZZ_LINK),,$(call obj,tests/fuzz/driver.c))
FUZZ_WRITE_OBJS := $(filter-out $(B)/obj/write-svc/main.o,$(WRITE_OBJS))
$(B)/obj/tests/fuzz/%.o: CPPFLAGS_ALL += -Iwrite-svc -Ievent-worker $(CPPFLAGS_QR)
$(B)/fuzz/fuzz_csv: $(B)/obj/write-svc/bulkcheck.o
$(B)/fuzz/fuzz_entry: $(B)/obj/event-worker/entry.o
$(B)/fuzz/fuzz_qr: $(B)/obj/write-svc/qr.o
$(B)/fuzz/fuzz_router $(B)/fuzz/fuzz_dispatch: $(FUZZ_WRITE_OBJS)
$(B)/fuzz/fuzz_%: $(B)/obj/tests/fuzz/fuzz_%.o $(FUZZ_COMMON) $(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) $(FUZZ_LINK) -o $@ $(filter %.o,$^) $(B)/libshared.a $(LIBS_MHD) \
		$(LIBS_PQ) $(LIBS_JANSSON) $(LIBS_HIREDIS) $(LIBS_CRYPTO) $(LIBS_QR) $(LIBS_SYS)

.PHONY: fuzz-bins check-fuzz fuzz
fuzz-bins: $(FUZZ_BINS)

# FUZZ_MODE: 1 (libFuzzer) when clang links a fuzzer here, else driver.
FUZZ_MODE := $(shell printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}\n' | \
	clang -x c -fsanitize=fuzzer,address,undefined -o /dev/null - >/dev/null 2>&1 && echo 1 || echo driver)

check-fuzz:
	$(Q)$(MAKE) --no-print-directory FUZZ=$(FUZZ_MODE) fuzz-bins
	$(Q)FUZZ_MODE=$(FUZZ_MODE) tests/fuzz/run.sh replay $(FUZZ_TARGETS)

fuzz:
	$(Q)$(MAKE) --no-print-directory FUZZ=$(FUZZ_MODE) fuzz-bins
	$(Q)FUZZ_MODE=$(FUZZ_MODE) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh fuzz $(FUZZ_TARGETS)

# check and run first install what is missing (a fresh Debian machine), then re-enter make so
# that the pkg-config flags above are computed with the libraries present.
check: deps
	$(Q)$(MAKE) --no-print-directory check-unit check-fuzz check-integration check-e2e check-keys \
		check-system check-cluster check-docs check-openapi check-ops check-supervise check-ui \
		check-pgbouncer

check-unit: $(UNIT_BINS)
	$(Q)scripts/run-unit.sh $(UNIT_BINS)

check-integration: $(BINS)
	$(Q)B=$(B) tests/integration/test_worker.sh

check-e2e: $(BINS) $(E2E_BIN)
	$(Q)B=$(B) tests/e2e/run.sh

# write-svc through a real PgBouncer (Debian's, transaction mode): the e2e suite, then
# concurrency, rebuilds, PgBouncer killed and restarted, the image's entrypoint and session mode
# (tests/pgbouncer); about 45 s.
.PHONY: check-pgbouncer
check-pgbouncer: $(BINS) $(E2E_BIN)
	$(Q)B=$(B) E2E_PGBOUNCER=1 tests/e2e/run.sh
	$(Q)B=$(B) tests/pgbouncer/test_pgbouncer.sh

# API_AUTH=keys against two write-svc instances: 401/403/404, revocation, expiry, the CLI.
.PHONY: check-keys
check-keys: $(BINS)
	$(Q)B=$(B) tests/keys/run.sh

# README's configuration tables match the binaries; docs/API.md's examples replay (tests/docs).
check-docs: $(BINS)
	$(Q)B=$(B) scripts/config-table.sh --check README.md
	$(Q)B=$(B) tests/docs/run.sh

# docs/openapi.json is valid OpenAPI 3.1 (npm ci in tests/openapi) and every answer of the live
# services, through the front door, matches it (tests/openapi).
.PHONY: check-openapi
check-openapi: $(BINS)
	$(Q)B=$(B) tests/openapi/run.sh

check-system: $(BINS) $(SYSTEM_BIN)
	$(Q)B=$(B) tests/system/run.sh

# shared/kvcluster.c against a live cluster (tests/integration/test_kvcluster.c), then the
# system suite's cluster part (tests/system/checks_cluster.sh), each on a 6-node Redis Cluster.
KVCLUSTER_TEST := $(B)/tests/integration/test_kvcluster
$(KVCLUSTER_TEST): $(B)/obj/tests/integration/test_kvcluster.o $(B)/libshared.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(LINK_TEST)
.PHONY: check-cluster
check-cluster: $(BINS) $(SYSTEM_BIN) $(KVCLUSTER_TEST)
	$(Q)REDIS_MODE=cluster tests/harness.sh $(KVCLUSTER_TEST)
	$(Q)REDIS_MODE=cluster SYSTEM_ONLY=cluster B=$(B) tests/system/run.sh

# The dashboard in a real browser: Debian's chromium driven by playwright-core (ui/package-lock.json)
# against the real stack behind nginx, in open mode and (once API_AUTH=keys exists) with a
# read-only key; screenshots in $(B)/ui-test (tests/ui/run.sh).
.PHONY: check-ui
check-ui: $(BINS)
	$(Q)B=$(B) tests/ui/run.sh

# deploy/ validated without running it: promtool, amtool, YAML, dashboard, env vars (tests/ops).
.PHONY: check-ops
check-ops: $(BINS)
	$(Q)B=$(B) tests/ops/test_deploy.sh

# The make run stack in a temp dir on free ports: probes, Redis and PostgreSQL SIGKILLed under
# load and restarted by their supervisors, no click lost, make stop (tests/ops/test_supervise.sh).
.PHONY: check-supervise
check-supervise: $(BINS) $(SYSTEM_BIN)
	$(Q)B=$(B) tests/ops/test_supervise.sh

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)B=$(B) scripts/run.sh

stop:
	$(Q)scripts/stop.sh

logs:
	$(Q)tail -F .run/logs/*.log

deps:
	$(Q)scripts/deps.sh

# The benchmark of the local stack (bench/README.md); BENCH_QUICK=1 for a short one.
.PHONY: bench
bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)B=$(B) bench/run.sh
	$(Q)B=$(B) bench/stats.sh
	$(Q)B=$(B) bench/pipeline.sh
	$(Q)$(MAKE) --no-print-directory bench-cluster

# One Redis primary versus a 3-primary Redis Cluster (bench/cluster.sh): redirects/s, clicks/s,
# bytes per link; each under tests/harness.sh on free ports (never the make-run stack).
.PHONY: bench-cluster
bench-cluster: all $(SYSTEM_BIN)
	$(Q)B=$(B) bench/cluster.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

check-headers:
	$(Q)for h in shared/*.h write-svc/*.h redirect-svc/*.h event-worker/*.h; do \
		echo '#include "'$$h'"' | $(CC) $(CPPFLAGS_ALL) -I. -std=c11 -fsyntax-only -x c - || exit 1; \
	done

clean:
	rm -rf build build-asan build-fuzz build-fuzz-driver

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
