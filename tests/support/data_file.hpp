#pragma once
// The data-file format of tests/data (tests/data/README.md), parsed: a header saying what the file
// is about and where its expected values come from, then steps, each a directive with the `expect`
// lines written under it. The parser knows only this grammar, not what any directive means: the
// block kinds (data_blocks.hpp) say which directives exist and what they take, the runner
// (data_runner.hpp) checks and runs them.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace neruba::test::data {

// One `expect` line: `expect error <slug> [<field> [<field type>]]`, or
// `expect [<value>] [<name>=<value> …]`.
struct Expectation {
  int line = 0;
  bool error = false;
  std::string slug;                  // error: the problem type slug or the rejection type
  std::string field;                 // error: optional; a field error's field
  std::string field_type;            // error: optional; that field error's type
  std::optional<std::string> value;  // the step's primary result
  std::vector<std::pair<std::string, std::string>> named;  // name=value, in written order
};

// One directive and the expectations written under it.
struct Step {
  int line = 0;
  std::string text;                // the line as written, trimmed (for failure messages)
  std::string keyword;             // its first word
  std::vector<std::string> words;  // the words after the keyword (split at spaces and tabs)
  std::vector<Expectation> expectations;

  // The text after the first `count` words, trimmed: a JSON argument at the end of the line.
  std::string rest_after(std::size_t count) const;
};

struct DataFile {
  std::filesystem::path path;  // as opened, for failure locations
  std::string name;            // "metering/count.test", relative to tests/data
  std::string about;           // header: what the file is about
  std::string source;          // header: the source of truth of its expected values
  std::vector<Step> steps;
};

// A line the grammar, or a block kind, does not accept.
struct Problem {
  int line = 0;
  std::string message;
};

struct ParsedFile {
  DataFile file;
  std::vector<Problem> problems;  // empty when the file is well-formed
};

// Parses `text`, the content of the file `name` (relative to tests/data) at `path`.
ParsedFile parse_data_file(std::string_view text, std::filesystem::path path, std::string name);
// Reads and parses the file; an unreadable file is a problem at line 0.
ParsedFile read_data_file(const std::filesystem::path& path, std::string name);

// "metering/count.test" → "metering_count": the test's name.
std::string test_name_of(std::string_view name);

}  // namespace neruba::test::data
