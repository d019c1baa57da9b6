# SPDX-License-Identifier: GPL-2.0
# heapscope: BPF object (clang -target bpf, CO-RE) -> bpftool gen skeleton -> user binary.
OUTPUT ?= .output
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
GO ?= $(shell command -v go || echo /usr/local/go/bin/go)
PREFIX ?= /usr/local
prefix ?= $(PREFIX)
sbindir ?= $(prefix)/sbin
mandir ?= $(prefix)/share/man
systemdunitdir ?= $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || \
		    echo /lib/systemd/system)
INSTALL ?= install
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	  -Werror -D_GNU_SOURCE -I$(OUTPUT) $(USER_INCLUDES) -Ibpf
LDLIBS := -lbpf -lelf -lz -lncursesw -lmicrohttpd -lm
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Ivmlinux -Ibpf -Wall -Werror

# user/ by layer: parse/ (pure parsers of Go binaries), goruntime/ (what heapscope knows of the Go
# runtime per version), session/ (one observed process: handle, probes, the BPF object), agg/
# (pure aggregation), output/ (stat's report, top, serve, record); main.c, util and json above.
USER_DIRS := user user/parse user/goruntime user/session user/agg user/output
USER_INCLUDES := $(addprefix -I,$(USER_DIRS))
USER_HDRS := $(wildcard $(addsuffix /*.h,$(USER_DIRS)))
USER_SRCS := $(filter-out user/main.c,$(wildcard $(addsuffix /*.c,$(USER_DIRS))))
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(wildcard tests/unit/test_*.c))

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all clean test unit unit-asan fixtures demo install uninstall deps fmt check-style fuzz \
	fuzz-build

all: heapscope

heapscope: $(OUTPUT)/heapscope
	$(Q)cp $< $@

$(OUTPUT) $(OUTPUT)/tests:
	$(Q)mkdir -p $@

vmlinux/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)scripts/gen-vmlinux.sh $@

$(OUTPUT)/heapscope.bpf.o: bpf/heapscope.bpf.c bpf/heapscope.h bpf/go_abi.bpf.h vmlinux/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(OUTPUT)/heapscope.skel.h: $(OUTPUT)/heapscope.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name heapscope_bpf > $@

$(OUTPUT)/user/%.o: user/%.c $(USER_HDRS) bpf/heapscope.h $(OUTPUT)/heapscope.skel.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUTPUT)/heapscope: $(OUTPUT)/user/main.o $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c tests/harness.h $(USER_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $< $(USER_OBJS) $(LDLIBS) -o $@

unit: $(UNIT_TESTS)

# The unit tests again with ASan and UBSan, UBSan fatal, in their own directory: a sanitizer
# report ends the test binary with an error, which scripts/run-tests.sh reports as NAME_asan.
ASAN_CFLAGS = $(CFLAGS) -fno-omit-frame-pointer -fsanitize=address,undefined \
	      -fno-sanitize-recover=all
ASAN_OBJS := $(patsubst user/%.c,$(OUTPUT)/asan/user/%.o,$(USER_SRCS))
ASAN_TESTS := $(patsubst tests/unit/%.c,$(OUTPUT)/asan/tests/%,$(wildcard tests/unit/test_*.c))

$(OUTPUT)/asan/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/asan/user/%.o: user/%.c $(USER_HDRS) bpf/heapscope.h $(OUTPUT)/heapscope.skel.h
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ASAN_CFLAGS) -c $< -o $@

$(OUTPUT)/asan/tests/%: tests/unit/%.c tests/harness.h $(ASAN_OBJS) | $(OUTPUT)/asan/tests
	$(call msg,CC-ASAN,$@)
	$(Q)$(CC) $(ASAN_CFLAGS) -Itests $< $(ASAN_OBJS) $(LDLIBS) -o $@

unit-asan: $(ASAN_OBJS) $(ASAN_TESTS) $(OUTPUT)/asan/heapscope

# heapscope itself under the same sanitizers, for one e2e run (tests/e2e/test_asan.py).
$(OUTPUT)/asan/heapscope: $(OUTPUT)/asan/user/main.o $(ASAN_OBJS)
	$(call msg,LINK-ASAN,$@)
	$(Q)$(CC) $(ASAN_CFLAGS) $^ $(LDLIBS) -o $@

# libFuzzer targets over the pure parsers (tests/fuzz, FUZZING.md), with ASan and UBSan; replay_*
# is the same target without libFuzzer, to time saved inputs. Needs clang's fuzzer runtime
# (Debian: libclang-rt-14-dev); scripts/fuzz.sh checks for it, builds, seeds and runs.
FUZZ_SECS ?= 10
FUZZ_PARSERS := $(addprefix user/parse/,goelf.c buildinfo.c pclntab.c x86.c)
FUZZ_DEPS := $(FUZZ_PARSERS) $(wildcard user/parse/*.h)
FUZZ_CFLAGS := -O1 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Werror \
	       -Iuser/parse -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

$(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS) | $(OUTPUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_PARSERS) -lelf -lz -o $@

$(OUTPUT)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_DEPS) | $(OUTPUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $< tests/fuzz/replay.c $(FUZZ_PARSERS) -lelf -lz -o $@

fuzz-build: $(foreach n,$(FUZZ_NAMES),$(OUTPUT)/fuzz/fuzz_$(n) $(OUTPUT)/fuzz/replay_$(n))

# Like test: dependencies (clang's fuzzer runtime among them) and the fixtures it seeds from.
fuzz: deps
	$(Q)$(MAKE) --no-print-directory fixtures
	$(Q)scripts/fuzz.sh $(FUZZ_SECS)

fixtures:
	$(Q)scripts/build-fixtures.sh

# The README's test command: unit tests (no root), then BPF and end-to-end tests. Dependencies
# first, so it works on a fresh machine; the build runs in a sub-make after they exist.
# The builds run one job per CPU unless make was given -j itself (or JOBS=...). Expanded in the
# recipe: before make 4.4, MAKEFLAGS holds -jN only by then.
JOBS ?= $(if $(filter -j% --jobserver%,$(MAKEFLAGS)),,-j$(shell nproc))
test: deps
	$(Q)$(MAKE) --no-print-directory $(JOBS) heapscope unit unit-asan fixtures
	$(Q)scripts/run-tests.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory $(JOBS) heapscope
	$(Q)scripts/demo.sh

deps:
	$(Q)scripts/install-deps.sh

# The unit's ExecStart names the installed binary.
install: heapscope
	$(INSTALL) -D -m 0755 heapscope $(DESTDIR)$(sbindir)/heapscope
	$(INSTALL) -D -m 0644 man/heapscope.8 $(DESTDIR)$(mandir)/man8/heapscope.8
	$(INSTALL) -d $(DESTDIR)$(systemdunitdir)
	sed 's|/usr/local/sbin/heapscope|$(sbindir)/heapscope|' packaging/heapscope.service \
		> $(DESTDIR)$(systemdunitdir)/heapscope.service
	chmod 0644 $(DESTDIR)$(systemdunitdir)/heapscope.service

uninstall:
	rm -f $(DESTDIR)$(sbindir)/heapscope $(DESTDIR)$(mandir)/man8/heapscope.8 \
		$(DESTDIR)$(systemdunitdir)/heapscope.service

fmt:
	clang-format -i bpf/*.c bpf/*.h $(USER_SRCS) user/main.c $(USER_HDRS) tests/unit/*.c \
		tests/fuzz/*.c tests/*.h

clean:
	rm -rf $(OUTPUT)/user $(OUTPUT)/tests $(OUTPUT)/asan $(OUTPUT)/heapscope* heapscope
	rm -f $(OUTPUT)/fuzz/fuzz_* $(OUTPUT)/fuzz/replay_*
