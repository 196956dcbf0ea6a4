# Parapet. `make` builds build/parapet; `make run` serves it with a private PostgreSQL;
# `make test` runs every test against a throwaway PostgreSQL. See README.md.

BUILD    ?= build
SANITIZE ?=
CC       ?= cc
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo 0.1.0)

WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wcast-qual -Wundef -fno-common
WERROR   ?= -Werror
CSTD     := -std=c11 -D_POSIX_C_SOURCE=200809L
OPT      ?= -O2 -g
PKGS     := libmicrohttpd libpq jansson libcrypto libjwt libargon2 libcurl libhs libpcre2-8 zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS   += $(CSTD) $(OPT) $(WARN) $(WERROR) -I. -I$(BUILD)/gen $(PKG_CFLAGS) \
            -DPARAPET_VERSION='"$(VERSION)"' -MMD -MP
LDLIBS   += $(PKG_LIBS) -lpthread -lm
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

LIB_SRC  := $(sort $(wildcard server/*.c api/*.c db/*.c auth/*.c cloud/*.c net/*.c \
              posture/*.c observe/*.c integrations/*.c))
LIB_SRC  := $(filter-out server/main.c,$(LIB_SRC))
GEN_SRC  := $(BUILD)/gen/migrations.c $(BUILD)/gen/openapi.c $(BUILD)/gen/common_passwords.c
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(GEN_SRC:%.c=%.o)
MIGRATIONS := $(sort $(wildcard migrations/*.sql))

UNIT_SRC := $(sort $(wildcard tests/unit/*/*_test.c))
UNIT_BIN := $(UNIT_SRC:%.c=$(BUILD)/%)
INTEG_SRC := $(sort $(wildcard tests/integration/*_test.c))
INTEG_BIN := $(INTEG_SRC:%.c=$(BUILD)/%)
SUPPORT_BIN_SRC := $(sort $(wildcard tests/support/*.c))
SUPPORT_BIN := $(SUPPORT_BIN_SRC:%.c=$(BUILD)/%)
SUPPORT_SRC := tests/integration/harness.c
SUPPORT_OBJ := $(SUPPORT_SRC:%.c=$(BUILD)/obj/%.o)
TEST_LIBS := -lcmocka -lcurl

.PHONY: all run test test-asan test-tsan tests deps format clean bench
.SECONDARY:
all: $(BUILD)/parapet

deps:
	@scripts/deps.sh

$(BUILD)/parapet: $(BUILD)/obj/server/main.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(BUILD)/gen/migrations.c: $(MIGRATIONS) scripts/embed-migrations.sh
	@mkdir -p $(dir $@)
	scripts/embed-migrations.sh $@ $(MIGRATIONS)

$(BUILD)/gen/openapi.c: api/openapi.json scripts/embed-file.sh
	@mkdir -p $(dir $@)
	scripts/embed-file.sh $@ api_openapi_doc api/openapi.json

$(BUILD)/gen/common_passwords.c: auth/common-passwords.txt scripts/embed-file.sh
	@mkdir -p $(dir $@)
	scripts/embed-file.sh $@ password_common_list auth/common-passwords.txt

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS) $(TEST_LIBS)

# Integration tests may also call the library directly (e.g. db/ against the real database).
$(BUILD)/tests/integration/%: tests/integration/%.c $(SUPPORT_OBJ) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(SUPPORT_OBJ) $(LIB_OBJ) $(LDLIBS) $(TEST_LIBS)

# Fakes of outside services (AWS, webhook receivers) that integration tests start.
$(BUILD)/tests/support/%: tests/support/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS)

tests: $(BUILD)/parapet $(UNIT_BIN) $(INTEG_BIN) $(SUPPORT_BIN)

# `make test` installs what is missing, builds, and runs unit then integration tests against a
# throwaway PostgreSQL cluster; it prints one summary line per suite and fails on any failure.
test: deps
	@scripts/lint.sh
	@$(MAKE) --no-print-directory tests
	@scripts/test.sh $(BUILD)

test-asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=address,undefined OPT='-O1 -g' tests
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  scripts/test.sh build/asan

# Every suite again with ThreadSanitizer: the server's HTTP threads, workers and scheduler.
test-tsan: deps
	@$(MAKE) --no-print-directory BUILD=build/tsan SANITIZE=thread OPT='-O1 -g' tests
	@TSAN_OPTIONS=halt_on_error=0:second_deadlock_stack=1 scripts/test.sh build/tsan

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@bench/run.sh

# Payload inspection throughput on one core against baselines (bench/README.md); not in `make test`.
.PHONY: bench-detect
bench-detect: $(BUILD)/bench/detect/detect_bench
	@$(BUILD)/bench/detect/detect_bench

$(BUILD)/bench/detect/%: bench/detect/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
