// Replays every file of the labelled fixture corpus (fixtures/scan/corpus) and
// every fuzzing regression input (fixtures/scan/regressions) through the scan
// engine. Built with HFAUDIT_SANITIZE=ON (or in the fuzz build), this is the
// sanitizer regression run: a crash, leak or sanitizer report fails it. The
// labels themselves are checked by fixtures/scan/check_labels.py.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "scan/engine.hpp"

namespace fs = std::filesystem;
using hfaudit::scan::scan_paths;
using hfaudit::scan::ScanOptions;

BOOST_AUTO_TEST_SUITE(corpus_replay_test)

namespace {

std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file()) files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

void replay(const fs::path& dir, size_t at_least) {
  const std::vector<std::string> files = files_under(dir);
  BOOST_TEST(files.size() >= at_least, dir << " holds " << files.size() << " files");
  const ScanOptions options;
  for (const auto& path : files) {
    BOOST_TEST_CONTEXT(path) {
      try {
        const auto result = scan_paths({path}, options);
        BOOST_TEST(result.errors.empty());
        BOOST_TEST_REQUIRE(result.files.size() == 1u);
        const auto& report = result.files.front();
        BOOST_TEST(report.path == path);
        BOOST_TEST(!report.objects.empty());
        BOOST_TEST(report.size == fs::file_size(path));
      } catch (const std::exception& e) {
        BOOST_ERROR("scan threw: " << e.what());
      }
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_corpus_file_scans_to_a_report) {
  replay(fs::path(HFAUDIT_FIXTURES_DIR) / "scan" / "corpus", 200);
}

BOOST_AUTO_TEST_CASE(every_fuzzing_regression_input_scans_to_a_report) {
  replay(fs::path(HFAUDIT_FIXTURES_DIR) / "scan" / "regressions", 1);
}

BOOST_AUTO_TEST_SUITE_END()
