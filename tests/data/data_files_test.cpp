// One gtest per data file of tests/data (format: tests/data/README.md): DataFiles.<area>_<name>,
// and per backend (DataFiles.<area>_<name>/sqlite, /postgres) for a file that needs a database.
// The files are those tests/CMakeLists.txt globbed when it configured the build (data_files.inc);
// it globs again on every build, so adding a file adds its test.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "support/data_runner.hpp"

namespace neruba::test::data {
namespace {

namespace fs = std::filesystem;

const fs::path& data_directory() {
  static const fs::path directory = fs::path(NERUBA_SOURCE_DIR) / "tests" / "data";
  return directory;
}

const std::vector<std::string_view>& globbed_files() {
  static const std::vector<std::string_view> files = {
#include "data_files.inc"
  };
  return files;
}

const bool registered = [] {
  register_data_file_tests(data_directory(), globbed_files());
  return true;
}();

// A build configured before a file was added (or after one was removed) runs a stale list.
TEST(DataFilesDirectory, EveryFileOnDiskHasItsTest) {
  std::vector<std::string> on_disk;
  for (const auto& entry : fs::recursive_directory_iterator(data_directory())) {
    if (entry.is_regular_file() && entry.path().extension() == ".test") {
      on_disk.push_back(entry.path().lexically_relative(data_directory()).generic_string());
    }
  }
  std::sort(on_disk.begin(), on_disk.end());
  const std::vector<std::string> listed(globbed_files().begin(), globbed_files().end());
  EXPECT_FALSE(listed.empty()) << "no data file in " << data_directory();
  EXPECT_EQ(listed, on_disk) << "rebuild: the list of data files is older than the directory";
}

}  // namespace
}  // namespace neruba::test::data
