// One list: the metric tables (ramflowd's metric_table() and the webhook's)
// against what is written elsewhere about them. docs/metrics.md documents
// every metric of the tables and nothing else, with its type and labels; the
// golden /metrics files hold only families of the table, typed and labelled
// as it says; the fleet series `ramflowd recommend --prometheus` reads are
// recorded by deploy/prometheus/ramflow-rules.yaml from metrics of the table.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "export/prometheus/metric_table.h"
#include "export/prometheus/recorded_series.h"
#include "webhook/webhook_metrics.h"

namespace ramflow::exporter {
namespace {

struct Described {
  std::string type;
  std::set<std::string> labels;
  bool operator==(const Described&) const = default;
};
using Catalogue = std::map<std::string, Described>;

std::ostream& operator<<(std::ostream& out, const Described& d) {
  out << d.type << " {";
  for (const auto& l : d.labels) out << " " << l;
  return out << " }";
}

std::string read(const std::string& relative) {
  std::ifstream in(std::string(RAMFLOW_SOURCE_DIR) + "/" + relative);
  EXPECT_TRUE(in) << "cannot read " << relative;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

template <class Table>
void add(Catalogue& out, const Table& table) {
  for (const auto& spec : table) {
    Described d{std::string(to_string(spec.type)), {}};
    for (auto l : spec.labels) d.labels.emplace(l);
    EXPECT_TRUE(out.emplace(std::string(spec.name), d).second) << spec.name << " is in a table twice";
  }
}

Catalogue tables() {
  Catalogue out;
  add(out, metric_table());
  add(out, webhook::webhook_metric_table());
  return out;
}

// Rows of docs/metrics.md's tables: | `name` | type | `label` (values), ... | meaning |
Catalogue documented() {
  static const std::regex row(R"(^\|\s*`([a-z_:]+)`\s*\|\s*(gauge|counter)\s*\|([^|]*)\|)");
  static const std::regex label("`([a-z_]+)`");
  Catalogue out;
  std::istringstream in(read("docs/metrics.md"));
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, row)) continue;
    Described d{m[2], {}};
    const std::string cell = m[3];
    for (auto it = std::sregex_iterator(cell.begin(), cell.end(), label); it != std::sregex_iterator(); ++it) {
      d.labels.insert((*it)[1]);
    }
    EXPECT_TRUE(out.emplace(m[1], d).second) << m[1] << " is documented twice";
  }
  return out;
}

TEST(MetricsDoc, DocsMetricsDocumentsEveryMetricOfTheTablesWithItsTypeAndLabels) {
  const Catalogue table = tables();
  const Catalogue docs = documented();
  ASSERT_GT(table.size(), 40u);
  for (const auto& [name, d] : table) {
    auto it = docs.find(name);
    if (it == docs.end()) {
      ADD_FAILURE() << name << " is served but docs/metrics.md has no row for it";
    } else {
      EXPECT_EQ(it->second, d) << name << ": docs/metrics.md says otherwise than the table";
    }
  }
  for (const auto& [name, d] : docs) {
    EXPECT_TRUE(table.count(name)) << "docs/metrics.md documents " << name << ", which no table serves";
  }
}

// Families and sample labels of a golden /metrics file.
Catalogue exposed(const std::string& text) {
  static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$)");
  static const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? \S+$)");
  static const std::regex label(R"(([a-zA-Z_][a-zA-Z0-9_]*)=")");
  Catalogue out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, type)) {
      out[m[1]].type = m[2];
    } else if (!line.empty() && line[0] != '#' && std::regex_match(line, m, sample)) {
      std::set<std::string> labels;
      const std::string inner = m[3];
      for (auto it = std::sregex_iterator(inner.begin(), inner.end(), label); it != std::sregex_iterator(); ++it) {
        labels.insert((*it)[1]);
      }
      auto& d = out[m[1]];
      EXPECT_TRUE(d.labels.empty() || d.labels == labels) << line;
      d.labels = labels;
    }
  }
  return out;
}

TEST(MetricsDoc, GoldenFilesHoldEveryFamilyOfTheTableAsTheTableDescribesIt) {
  Catalogue table;
  add(table, metric_table());
  for (const char* golden : {"tests/golden/metrics-e2e.prom", "tests/golden/metrics-e2e-v2.prom"}) {
    const Catalogue seen = exposed(read(golden));
    for (const auto& [name, d] : seen) {
      auto it = table.find(name);
      if (it == table.end()) {
        ADD_FAILURE() << golden << " holds " << name << ", which the table does not serve";
        continue;
      }
      EXPECT_EQ(d.type, it->second.type) << golden << ": " << name;
      if (!d.labels.empty()) EXPECT_EQ(d.labels, it->second.labels) << golden << ": " << name;
    }
    for (const auto& [name, d] : table) EXPECT_TRUE(seen.count(name)) << golden << " lacks the family " << name;
  }
}

TEST(MetricsDoc, TheFleetSeriesRecommendReadsAreRecordedFromMetricsOfTheTable) {
  static const std::regex record(R"(^\s*- record:\s*(\S+)\s*$)");
  std::set<std::string> records;
  std::istringstream in(read("deploy/prometheus/ramflow-rules.yaml"));
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, record)) records.insert(m[1]);
  }
  const Catalogue table = tables();
  for (std::string_view name : recorded::kAll) {
    EXPECT_TRUE(records.count(std::string(name))) << name << " is not recorded by deploy/prometheus/ramflow-rules.yaml";
    const auto first = name.find(':'), second = name.rfind(':');
    ASSERT_NE(first, second) << name << " is not level:metric:operations";
    EXPECT_TRUE(table.count(std::string(name.substr(first + 1, second - first - 1)))) << name;
  }
}

}  // namespace
}  // namespace ramflow::exporter
