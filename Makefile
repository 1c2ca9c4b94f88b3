# A thin layer over CMake: the README's two commands.
#   make run    install missing packages, build a release binary, run it
#   make test   install missing packages, build, run the whole test suite
.PHONY: run test build clean

build:
	scripts/deps.sh run
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build/release -j$$(nproc) --target jugglite

run: build
	exec build/release/jugglite $(ARGS)

test:
	scripts/test.sh

clean:
	rm -rf build
