#include "cli/cli.hpp"

#include <cstdio>

namespace hfaudit::cli {

int run(int, char**) {
  std::fputs("hfaudit: error: no command yet\n", stderr);
  return 2;
}

}  // namespace hfaudit::cli
