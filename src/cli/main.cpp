#include "cli/cli.hpp"

int main(int argc, char** argv) {
  return hfaudit::cli::run(argc, argv);
}
