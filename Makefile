# boxkit: six small tools that build a container one layer at a time.
#
#   make            build lib/ and every tool into build/bin/
#   make deps       install the Debian packages that are missing (needs root)
#   make test       deps, build, then unit tests, Bats tests, lesson checks, a short
#                   fuzzing pass, and the unit and Bats tests again under ASan+UBSan
#   make demo       deps, build, then the main job (see scripts/demo)
#   make bench      side-by-side benchmarks against the real tools
#   make asan       only the unit and Bats tests, built with ASan and UBSan
#   make fuzz       libFuzzer targets for every parser of outside input (FUZZ_TIME=s each)
#   make diagrams   regenerate the lessons' SVG pictures from lessons/diagrams/*.dot
#   make install    PREFIX=/usr/local DESTDIR=  (binaries, man pages, completion)

PREFIX  ?= /usr/local
JOBS    ?= $(shell nproc)
DESTDIR ?=
BUILD   ?= build
CXX     ?= g++

CXXFLAGS ?= -O2 -g
WERROR   ?= -Werror
CXXFLAGS += -std=c++20 -Wall -Wextra $(WERROR) -Wno-missing-field-initializers -MMD -MP -Ilib
# Tools link statically by default: a chain-loader's start-up time is most of
# its cost (bench/), and a static binary also runs inside a bare root.
STATIC  ?= yes
SANITIZE ?=
ifneq ($(SANITIZE),)
  # GCC 12 warns falsely inside <regex> when sanitizing (CLI11 uses it).
  CXXFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer $(if $(findstring clang,$(CXX)),,-Wno-maybe-uninitialized)
  LDFLAGS  += -fsanitize=$(SANITIZE)
  STATIC   := no
endif

TOOLS    := $(patsubst tools/%/main.cpp,%,$(wildcard tools/*/main.cpp))
LIB_SRC  := $(wildcard lib/*.cpp)
LIB_OBJ  := $(LIB_SRC:%.cpp=$(BUILD)/obj/%.o)
LIBBK    := $(BUILD)/lib/libbk.a
BINS     := $(TOOLS:%=$(BUILD)/bin/%)
# Unit tests: tests/unit/test_<tool>*.cpp (dashes as underscores) go into
# build/bin/unit-<tool> with that tool's logic; the rest test lib/ and go
# into build/bin/unit-lib. One tool's half-done work never breaks another's.
UNIT_MAIN := $(BUILD)/obj/tests/unit/main.o
TOOL_UNIT_SRC = $(wildcard tests/unit/test_$(subst -,_,$(1))*.cpp)
LIB_UNIT_SRC := $(filter-out tests/unit/main.cpp $(foreach t,$(TOOLS),$(call TOOL_UNIT_SRC,$(t))),$(wildcard tests/unit/*.cpp))
UNIT_BINS := $(BUILD)/bin/unit-lib $(foreach t,$(TOOLS),$(if $(call TOOL_UNIT_SRC,$(t)),$(BUILD)/bin/unit-$(t)))

# A tool may add tools/<tool>/tool.mk to set <tool>_LIBS (extra libraries)
# and <tool>_STATIC := no. Libraries lib/ itself needs go in LIB_LIBS, here:
# lib/http.cpp speaks HTTP through libcurl, lib/digest.cpp hashes with OpenSSL.
LIB_LIBS := -lcurl -lssl -lcrypto
-include $(wildcard tools/*/tool.mk)

all: $(BINS) $(UNIT_BINS)

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c -o $@ $<

$(LIBBK): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# A recipe that fails leaves no half-made target behind.
.DELETE_ON_ERROR:

# Every tool: its own .cpp files (main.cpp among them) plus libbk.a; its unit
# tests link its .cpp files but main.cpp. `make TOOL` builds both.
define tool_rules
$(1)_OBJ := $$(patsubst %.cpp,$(BUILD)/obj/%.o,$$(wildcard tools/$(1)/*.cpp))
$(1)_STATIC ?= $(STATIC)
$(BUILD)/bin/$(1): $$($(1)_OBJ) $(LIBBK)
	@mkdir -p $$(@D)
	$$(CXX) $$(LDFLAGS) $$(if $$(filter yes,$$($(1)_STATIC)),-static) -o $$@ $$($(1)_OBJ) $(LIBBK) $$($(1)_LIBS)
$(1)_UNIT_OBJ := $$(patsubst %.cpp,$(BUILD)/obj/%.o,$$(call TOOL_UNIT_SRC,$(1)))
$(BUILD)/bin/unit-$(1): $(UNIT_MAIN) $$($(1)_UNIT_OBJ) $$(filter-out %/main.o,$$($(1)_OBJ)) $(LIBBK)
	@mkdir -p $$(@D)
	$$(CXX) $$(LDFLAGS) -o $$@ $$^ $$($(1)_LIBS)
$(1): $(BUILD)/bin/$(1) $$(if $$(call TOOL_UNIT_SRC,$(1)),$(BUILD)/bin/unit-$(1))
.PHONY: $(1)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rules,$(t))))

$(BUILD)/bin/unit-lib: $(UNIT_MAIN) $(LIB_UNIT_SRC:%.cpp=$(BUILD)/obj/%.o) $(LIBBK)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^ $(LIB_LIBS)

# Fuzz targets: tests/fuzz/fuzz_<tool>*.cpp link that tool's logic, the rest
# lib/ only; built by clang with libFuzzer, ASan and UBSan in build-fuzz/.
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.cpp)
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.cpp=$(BUILD)/fuzz/%)
FUZZ_TOOL  = $(firstword $(foreach t,$(TOOLS),$(if $(filter tests/fuzz/fuzz_$(subst -,_,$(t))%,$(1)),$(t))))
define fuzz_rules
$(BUILD)/fuzz/$(basename $(notdir $(1))): $(BUILD)/obj/$(1:.cpp=.o) $$(filter-out %/main.o,$$($(call FUZZ_TOOL,$(1))_OBJ)) $(LIBBK)
	@mkdir -p $$(@D)
	$$(CXX) $$(LDFLAGS) -fsanitize=fuzzer -o $$@ $$^ $$($(call FUZZ_TOOL,$(1))_LIBS) $(LIB_LIBS)
endef
$(foreach f,$(FUZZ_SRC),$(eval $(call fuzz_rules,$(f))))
fuzz-bins: $(FUZZ_BINS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

deps:
	@scripts/install-deps

# The fuzz targets build with clang in build-fuzz/; make test runs each for
# FUZZ_TIME seconds (make fuzz for a longer pass).
FUZZ_MAKE = $(MAKE) --no-print-directory -j$(JOBS) BUILD=build-fuzz CXX=clang++ WERROR= \
	  SANITIZE=fuzzer-no-link,address,undefined fuzz-bins

# The unit and Bats tests run twice: as built, and with ASan and UBSan in
# build-asan/ (tests/run asan).
ASAN_MAKE = $(MAKE) --no-print-directory -j$(JOBS) BUILD=build-asan SANITIZE=address,undefined all

test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@$(FUZZ_MAKE) >/dev/null
	@$(ASAN_MAKE) >/dev/null
	@BUILD=$(BUILD) FUZZ_TIME=$${FUZZ_TIME:-5} tests/run

unit: $(UNIT_BINS)
	@BUILD=$(BUILD) tests/run unit

lessons: all
	@BUILD=$(BUILD) tests/run lessons

demo: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@BUILD=$(BUILD) scripts/demo

bench: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@for b in bench/*.sh; do BUILD=$(BUILD) bash $$b || exit 1; done

asan: deps
	@$(ASAN_MAKE)
	@tests/run asan

fuzz: deps
	@$(FUZZ_MAKE)
	@FUZZ_TIME=$${FUZZ_TIME:-60} tests/run fuzz

diagrams:
	@lessons/diagrams/build

install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 examples/boxrun $(DESTDIR)$(PREFIX)/bin/boxrun
	install -m 0644 $(wildcard man/*.1) $(DESTDIR)$(PREFIX)/share/man/man1/
	for t in $(TOOLS); do install -m 0644 completions/boxkit.bash \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$t; done

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(PREFIX)/bin/%) $(DESTDIR)$(PREFIX)/bin/boxrun \
	  $(patsubst man/%,$(DESTDIR)$(PREFIX)/share/man/man1/%,$(wildcard man/*.1)) \
	  $(TOOLS:%=$(DESTDIR)$(PREFIX)/share/bash-completion/completions/%)

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all deps test unit lessons demo bench asan fuzz fuzz-bins diagrams install uninstall clean
