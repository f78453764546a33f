// The AFL++ target: persistent mode with the test case in shared memory, over the same
// run_input as the libFuzzer target. Built with afl-clang-fast++ (the `afl` preset).
// Outside afl-fuzz the AFL++ macros read one input from stdin, so
//   build/afl/fuzz/rmapcheck_afl < crash-file
// reproduces a crash. Built by any other compiler it runs each file named on the command
// line (or stdin), which keeps the file compiling everywhere.

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <span>
#include <vector>

#include "fuzz/fuzz_input.hpp"

#ifdef __AFL_FUZZ_TESTCASE_LEN

#include <unistd.h>  // read(), which the AFL++ macros call

__AFL_FUZZ_INIT();

int main() {
  fuzz::bugs_from_env();
  __AFL_INIT();  // deferred fork server: start it after the set-up above
  const unsigned char* buf = __AFL_FUZZ_TESTCASE_BUF;
  while (__AFL_LOOP(10000)) {
    const int len = __AFL_FUZZ_TESTCASE_LEN;
    fuzz::run_input(std::span<const uint8_t>(buf, size_t(len)));
  }
  return 0;
}

#else

namespace {

std::vector<uint8_t> slurp(std::istream& in) {
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  fuzz::bugs_from_env();
  if (argc < 2) {
    fuzz::run_input(slurp(std::cin));
    return 0;
  }
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "%s: cannot read file\n", argv[i]);
      return 2;
    }
    fuzz::run_input(slurp(in));
  }
  return 0;
}

#endif
