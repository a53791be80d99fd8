#include "report_schema.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <stdexcept>

namespace ramflow::exporter::testing {
namespace {

using nlohmann::json;

// Object arrays whose members docs/report.md gives in prose.
const std::vector<FieldSpec> kProseFields = {
    {"executive.imports", "object[]"},
    {"executive.imports[].module", "string"},
    {"executive.imports[].bytes", "int"},
    {"execution_flow.timelines[].tasks[].name", "string"},
    {"execution_flow.timelines[].tasks[].task_id", "string \\| null"},
    {"execution_flow.timelines[].tasks[].start", "number"},
    {"execution_flow.timelines[].tasks[].end", "number \\| null"},
    {"execution_flow.timelines[].tasks[].outcome", "`ok` \\| `error` \\| `running` \\| `killed`"},
    {"execution_flow.timelines[].tasks[].residual_bytes", "int \\| null"},
    {"execution_flow.timelines[].spans[].function", "string"},
    {"execution_flow.timelines[].spans[].kind", "`task` \\| `function`"},
    {"execution_flow.timelines[].spans[].start", "number"},
    {"execution_flow.timelines[].spans[].end", "number"},
    {"execution_flow.timelines[].spans[].depth", "int"},
    {"execution_flow.timelines[].spans[].gross_bytes", "int"},
    {"execution_flow.timelines[].spans[].net_self_bytes", "int"},
    {"system_context.oom_kills.recent[].time", "number"},
    {"system_context.oom_kills.recent[].pid", "int"},
    {"system_context.oom_kills.recent[].comm", "string"},
    {"system_context.oom_kills.recent[].task", "string \\| null"},
    {"system_context.oom_kills.recent[].rss_at_death_bytes", "int \\| null"},
    {"system_context.oom_kills.recent[].last_residual_bytes", "int \\| null"},
    {"system_context.oom_kills.recent[].leak_level", "`low` \\| `medium` \\| `high` \\| `unknown`"},
    {"system_context.oom_kills.recent[].source", "`ebpf` \\| `inferred`"},
    {"system_context.oom_kills.recent[].allocation_capture", "string \\| null"},
    {"system_context.configuration[].key", "string"},
    {"system_context.configuration[].value", "string"},
    // null: the Snapshot does not keep where a non-default value came from (docs/report.md, "How ramflowd builds it").
    {"system_context.configuration[].source", "`default` \\| `file` \\| `env` \\| `flag` \\| null"},
};

std::string trim(const std::string& s) {
  auto a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

// Cells of a table row; "\|" inside a cell is not a separator.
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (std::size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '|' && line[i - 1] != '\\') {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += line[i];
    }
  }
  return out;
}

std::vector<std::string> backticked(const std::string& cell) {
  std::vector<std::string> out;
  static const std::regex re("`([^`]+)`");
  for (std::sregex_iterator it(cell.begin(), cell.end(), re), end; it != end; ++it) out.push_back((*it)[1]);
  return out;
}

struct Type {
  bool any = false, nullable = false;
  std::set<std::string> kinds;  // int number string bool object int[] object[] pairs
  std::set<std::string> enums;
};

Type parse_type(const std::string& cell) {
  Type t;
  if (cell.rfind("as in ", 0) == 0) {
    t.any = true;
    return t;
  }
  if (cell == "`[t, rss_bytes][]`") {
    t.kinds.insert("pairs");
    return t;
  }
  std::size_t start = 0;
  while (start <= cell.size()) {
    std::size_t bar = cell.find("\\|", start);
    std::string alt = trim(cell.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    static const std::set<std::string> kKinds = {"int", "number", "string", "bool", "object", "int[]", "object[]"};
    if (alt == "null") t.nullable = true;
    else if (kKinds.count(alt)) t.kinds.insert(alt);
    else if (alt.size() > 2 && alt.front() == '`' && alt.back() == '`') t.enums.insert(alt.substr(1, alt.size() - 2));
    else throw std::runtime_error("docs/report.md: type \"" + cell + "\" not understood by the schema test");
    if (bar == std::string::npos) break;
    start = bar + 2;
  }
  return t;
}

bool matches(const json& v, const Type& t) {
  if (t.any) return true;
  if (v.is_null()) return t.nullable;
  if (!t.enums.empty() && v.is_string()) return t.enums.count(v.get<std::string>()) > 0;
  for (const auto& k : t.kinds) {
    if (k == "int" && v.is_number_integer()) return true;
    if (k == "number" && v.is_number()) return true;
    if (k == "string" && v.is_string()) return true;
    if (k == "bool" && v.is_boolean()) return true;
    if (k == "object" && v.is_object()) return true;
    if (k == "int[]" && v.is_array() &&
        std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_number_integer(); })) {
      return true;
    }
    if (k == "object[]" && v.is_array() && std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_object(); })) {
      return true;
    }
    if (k == "pairs" && v.is_array() && std::all_of(v.begin(), v.end(), [](const json& x) {
          return x.is_array() && x.size() == 2 && x[0].is_number() && x[1].is_number();
        })) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t dot; (dot = path.find('.', start)) != std::string::npos; start = dot + 1) out.push_back(path.substr(start, dot - start));
  out.push_back(path.substr(start));
  for (auto& s : out) {
    if (s.size() > 2 && s.ends_with("[]")) s.resize(s.size() - 2);
  }
  return out;
}

// Calls `leaf(value, where)` for each value at `segments` below `node`; arrays
// on the way are walked element by element (an empty one holds nothing to check).
void visit(const json& node, const std::vector<std::string>& segments, std::size_t i, const std::string& where,
           std::vector<std::string>& problems, const std::function<void(const json&, const std::string&)>& leaf) {
  if (i == segments.size()) return leaf(node, where);
  if (node.is_array()) {
    for (std::size_t k = 0; k < node.size(); ++k) visit(node[k], segments, i, where + "[" + std::to_string(k) + "]", problems, leaf);
    return;
  }
  if (node.is_null()) return;  // a null object (its own row allows it) holds nothing to check
  if (!node.is_object() || !node.contains(segments[i])) {
    problems.push_back((where.empty() ? "" : where.substr(1) + ".") + segments[i] + ": missing");
    return;
  }
  visit(node[segments[i]], segments, i + 1, where + "." + segments[i], problems, leaf);
}

std::string without_indices(const std::string& where) { return std::regex_replace(where, std::regex("\\[[0-9]+\\]"), ""); }

void collect_leaves(const json& node, const std::string& path, std::set<std::string>& out) {
  if (node.is_object()) {
    for (const auto& [k, v] : node.items()) collect_leaves(v, path.empty() ? k : path + "." + k, out);
  } else if (node.is_array() && !node.empty() && node[0].is_object()) {
    for (const auto& v : node) collect_leaves(v, path, out);
  } else {
    out.insert(path);
  }
}

}  // namespace

std::vector<FieldSpec> documented_fields(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<FieldSpec> out;
  std::string prefix, line;
  bool in_fields = false;
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) == 0) {
      auto names = backticked(line);
      in_fields = line.find("Top level") != std::string::npos || !names.empty();
      prefix = names.empty() ? "" : names.front() + ".";
      continue;
    }
    if (!in_fields || line.rfind("| `", 0) != 0) continue;
    auto row = cells(line);
    if (row.size() < 2) continue;
    parse_type(row[1]);  // fails early on a type the test does not know
    for (const auto& name : backticked(row[0])) out.push_back({prefix + name, row[1]});
  }
  out.insert(out.end(), kProseFields.begin(), kProseFields.end());
  return out;
}

std::vector<std::string> schema_problems(const json& report, const std::vector<FieldSpec>& fields) {
  std::vector<std::string> problems;
  std::set<std::string> documented;
  for (const auto& f : fields) {
    const Type type = parse_type(f.type);
    std::string clean = f.path;
    clean = std::regex_replace(clean, std::regex("\\[\\]"), "");
    documented.insert(clean);
    int seen = 0;
    const std::size_t before = problems.size();
    visit(report, split_path(f.path), 0, "", problems, [&](const json& v, const std::string& where) {
      ++seen;
      if (!matches(v, type)) problems.push_back(where.substr(1) + ": " + v.dump() + " is not " + f.type);
    });
    // Every array on the way was empty: the document must be rich enough to check each field.
    if (seen == 0 && problems.size() == before) problems.push_back(f.path + ": no value to check (only empty arrays on the way)");
  }
  std::set<std::string> leaves;
  collect_leaves(report, "", leaves);
  for (const auto& leaf : leaves) {
    if (!documented.count(without_indices(leaf))) problems.push_back(leaf + ": not documented in docs/report.md");
  }
  return problems;
}

}  // namespace ramflow::exporter::testing
