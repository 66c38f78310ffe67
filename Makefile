# Thin wrapper over CMake (as neovim does): `make demo` and `make test` are
# the two commands README.md shows. Each installs missing Debian packages,
# configures and builds before doing its job.
BUILD     ?= build
BUILDTYPE ?= RelWithDebInfo
JOBS      ?= $(shell nproc)
CMAKEFLAGS ?=
ifeq ($(CI),true)
CMAKEFLAGS += -DNEGSIM_WERROR=ON
endif

.PHONY: all deps build demo test sanitize valgrind clean

all: build

deps:
	@sh scripts/install-deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILDTYPE) $(CMAKEFLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/negsim run sweeps/demo.yaml -o results/demo.h5 --force
	$(BUILD)/negsim analyze results/demo.h5 --out results/demo
	$(BUILD)/negsim plot results/demo.h5 --out results/demo
	@echo "negsim: results in results/demo.h5; report and figures in results/demo/"

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The sanitizer build lives in its own folder so it never mixes with build/.
sanitize:
	$(MAKE) test BUILD=build-asan BUILDTYPE=Debug CMAKEFLAGS=-DNEGSIM_SANITIZE=ON

valgrind: build
	sh scripts/valgrind-tests.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan
