# A thin layer over CMake: the README's two commands.
#   make run    install missing packages, build a release binary, run it
#   make test   install missing packages, build, run the whole test suite
#   make deb    build the Debian package build/deb/jugglite_VERSION_ARCH.deb
#
# `make run` stays quiet until jugglite itself speaks: the configure and
# compile output goes to $(BUILD_LOG), which is printed only if the build
# fails. scripts/deps.sh is not hidden, so that a package installation (and
# a sudo password prompt) can be seen.
.PHONY: run test build deb clean

BUILD_LOG := build/build.log

build:
	@scripts/deps.sh run
	@mkdir -p build
	@echo "building build/release/jugglite (output in $(BUILD_LOG))"
	@{ cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo && \
	   cmake --build build/release -j$$(nproc) --target jugglite; } >$(BUILD_LOG) 2>&1 || \
	 { cat $(BUILD_LOG) >&2; echo "the build failed; its output is above and in $(BUILD_LOG)" >&2; exit 1; }

run: build
	@exec build/release/jugglite $(ARGS)

test:
	scripts/test.sh

deb:
	@scripts/deps.sh deb
	@scripts/deb.sh build/deb

clean:
	rm -rf build
