#include "support/data_file.hpp"

#include <fstream>
#include <set>
#include <sstream>

namespace neruba::test::data {
namespace {

constexpr std::string_view blanks = " \t\r";

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

// Drops the first word of `text` (and the blanks after it).
std::string_view drop_word(std::string_view text) {
  const auto end = text.find_first_of(blanks);
  return end == std::string_view::npos ? std::string_view{} : trim(text.substr(end));
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  while (!(text = trim(text)).empty()) {
    const auto end = text.find_first_of(blanks);
    words.emplace_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end);
  }
  return words;
}

// The words after `expect`; an error message when they are not one of its three forms.
std::optional<std::string> read_expectation(const std::vector<std::string>& words,
                                            Expectation& out) {
  if (words.empty()) return "`expect` needs a value, name=value pairs or `error <slug>`";
  if (words[0] == "error") {
    if (words.size() < 2 || words.size() > 4) {
      return "`expect error` takes <slug> [<field> [<field type>]]";
    }
    out.error = true;
    out.slug = words[1];
    if (words.size() > 2) out.field = words[2];
    if (words.size() > 3) out.field_type = words[3];
    return std::nullopt;
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const auto& word = words[i];
    const auto equals = word.find('=');
    if (equals == std::string::npos) {
      if (i > 0) return "`" + word + "`: only the first word may be a bare value; then name=value";
      out.value = word;
      continue;
    }
    if (equals == 0 || equals + 1 == word.size()) return "`" + word + "` is not name=value";
    std::string name = word.substr(0, equals);
    if (!names.insert(name).second) return "`" + name + "` is expected twice on one line";
    out.named.emplace_back(std::move(name), word.substr(equals + 1));
  }
  return std::nullopt;
}

// Reads an `about` or `source` header line into `field`; a misplaced, repeated or empty one is a
// problem.
void read_header(const std::string& keyword, std::string_view text, int line_number,
                 bool steps_started, std::string& field, std::vector<Problem>& problems) {
  if (steps_started) {
    problems.push_back({line_number, "`" + keyword + "` belongs in the header, before any step"});
  } else if (!field.empty()) {
    problems.push_back({line_number, "a second `" + keyword + "` line"});
  } else if (text.empty()) {
    problems.push_back({line_number, "`" + keyword + "` needs a text"});
  }
  if (field.empty()) field = std::string(text);
}

}  // namespace

std::string Step::rest_after(std::size_t count) const {
  std::string_view rest = drop_word(text);  // the keyword
  for (std::size_t i = 0; i < count; ++i) rest = drop_word(rest);
  return std::string(rest);
}

ParsedFile parse_data_file(std::string_view text, std::filesystem::path path, std::string name) {
  ParsedFile parsed;
  DataFile& file = parsed.file;
  file.path = std::move(path);
  file.name = std::move(name);
  std::istringstream in{std::string(text)};
  std::string raw;
  int line_number = 0;
  while (std::getline(in, raw)) {
    ++line_number;
    const std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    auto words = split_words(line);
    std::string keyword = std::move(words.front());
    words.erase(words.begin());
    if (keyword == "about" || keyword == "source") {
      read_header(keyword, drop_word(line), line_number, !file.steps.empty(),
                  keyword == "about" ? file.about : file.source, parsed.problems);
      continue;
    }
    if (keyword == "expect") {
      Expectation expectation;
      expectation.line = line_number;
      if (file.steps.empty()) {
        parsed.problems.push_back({line_number, "`expect` before any step: nothing to check"});
      } else if (const auto problem = read_expectation(words, expectation)) {
        parsed.problems.push_back({line_number, *problem});
      } else {
        file.steps.back().expectations.push_back(std::move(expectation));
      }
      continue;
    }
    file.steps.push_back(
        Step{line_number, std::string(line), std::move(keyword), std::move(words), {}});
  }
  if (file.about.empty())
    parsed.problems.push_back({1, "no `about <what the file covers>` header"});
  if (file.source.empty()) {
    parsed.problems.push_back({1, "no `source <where the expected values come from>` header"});
  }
  return parsed;
}

ParsedFile read_data_file(const std::filesystem::path& path, std::string name) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ParsedFile parsed;
    parsed.file.path = path;
    parsed.file.name = std::move(name);
    parsed.problems.push_back({0, "cannot read " + path.string()});
    return parsed;
  }
  std::ostringstream content;
  content << in.rdbuf();
  return parse_data_file(content.str(), path, std::move(name));
}

std::string test_name_of(std::string_view name) {
  std::string out(name);
  if (out.size() > 5 && out.ends_with(".test")) out.resize(out.size() - 5);
  for (char& c : out) {
    if (c == '/' || c == '\\' || c == '-' || c == '.') c = '_';
  }
  return out;
}

}  // namespace neruba::test::data
