# Thin wrapper over the CMake presets; CMakePresets.json holds the real configuration.
#   make run    set up, build `release`, run the main job
#   make test   set up, build `clang-debug` (ASan+UBSan, and the libFuzzer target from
#               the same objects), run the whole suite; CI runs this
# The machine this targets has 2 cores; override with `make JOBS=n`.

JOBS ?= 2
RMAPCHECK := build/release/tools/rmapcheck

.PHONY: all run test build build-debug build-test deps clean format

all: build

# Only does work (apt-get) when a package is missing.
deps:
	./ci/setup-deps.sh

build: deps
	./ci/configure.sh release
	cmake --build --preset release -j $(JOBS)

# g++ with ASan+UBSan, for a debugger-friendly build of everything.
build-debug: deps
	./ci/configure.sh debug
	cmake --build --preset debug -j $(JOBS)

build-test: deps
	./ci/configure.sh clang-debug
	cmake --build --preset clang-debug -j $(JOBS)

# The main job: a 60-second random differential campaign (model beside implementation).
# Builds only the program it runs; `make build` builds everything.
# `make run RUN_ARGS="--time 600 --seed 7"` passes options through.
RUN_ARGS ?= --time 60
run: deps
	./ci/configure.sh release
	cmake --build --preset release -j $(JOBS) --target rmapcheck
	$(RMAPCHECK) run $(RUN_ARGS)

test: build-test
	ctest --preset clang-debug --output-on-failure -j $(JOBS)

clean:
	rm -rf build

# Formats tracked C++ sources with the repository's .clang-format.
format:
	@if ! command -v clang-format >/dev/null; then echo "format: clang-format not installed"; exit 0; fi; \
	git ls-files --cached --others --exclude-standard -- '*.cpp' '*.hpp' | xargs -r clang-format -i --style=file
