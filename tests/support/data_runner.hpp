#pragma once
// Runs the data files of tests/data (format: tests/data/README.md): checks a parsed file against
// the block kinds (data_blocks.hpp) before anything of it runs, runs its steps in order and checks
// every expectation, reporting each failure at the file's line; and registers one gtest per file.
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "support/data_file.hpp"
#include "support/test_db.hpp"

namespace neruba::test::data {

// What the block kinds do not accept: unknown directives, wrong argument counts, malformed
// arguments, expectations a kind does not answer; and a file that checks nothing.
std::vector<Problem> validate(const DataFile& file);

// True when a step of the file needs a database: then it runs once per backend.
bool needs_database(const DataFile& file);

// Runs a valid file (on `backend` when it needs a database); every failure is a gtest failure at
// file:line. Returns the number of expectations that held.
int run_data_file(const DataFile& file, std::optional<Backend> backend);

// Registers, for each file (its path relative to `data_directory`: "metering/count.test"), the
// gtest DataFiles.metering_count — or DataFiles.metering_count/sqlite, /postgres for a file that
// needs a database. A file that does not parse or validate is one test that fails with its
// problems.
void register_data_file_tests(const std::filesystem::path& data_directory,
                              const std::vector<std::string_view>& files);

}  // namespace neruba::test::data
