// `show` and `list`: what the table holds, read back.

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "commands/commands.h"
#include "dynamodb/client.h"
#include "report/quiz_report.h"
#include "report/table.h"
#include "split/reassemble.h"
#include "wiring/aws.h"

namespace qrl::commands {

namespace {

std::string attribute_string(const nlohmann::json& item, const char* name) {
  auto it = item.find(name);
  if (it == item.end() || !it->contains("S")) return "";
  return (*it)["S"].get<std::string>();
}

// Columns of the terminal on stdout; 80 in a pipe (COLUMNS overrides both).
std::size_t terminal_width() {
  if (const char* columns = std::getenv("COLUMNS"); columns != nullptr && std::atoi(columns) > 0) {
    return static_cast<std::size_t>(std::atoi(columns));
  }
  winsize size{};
  if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

dynamodb::Client table_client(config::Config& config) {
  auto aws = wiring::resolve_aws(config, config::process_env());
  return dynamodb::Client(config.dynamo, aws, config.loader.request_timeout);
}

}  // namespace

int show(config::Config config, const std::string& id, Output output) {
  auto client = table_client(config);
  auto item = client.get(id);
  if (!item) {
    std::fprintf(stderr, "no item with id '%s' in table '%s'\n", id.c_str(), client.table().c_str());
    return kExitFailure;
  }
  // A split quiz is shown as the single item it stands for.
  auto whole = split::reassemble(*item, [&](const std::string& part) { return client.get(part); });
  switch (output) {
    case Output::kDynamodb: std::printf("%s\n", whole.dump(1).c_str()); break;
    case Output::kJson: std::printf("%s\n", report::plain(whole).dump(2).c_str()); break;
    default: std::fputs(report::render(report::read_report(whole), terminal_width()).c_str(), stdout);
  }
  return 0;
}

int list(config::Config config, const ListOptions& options) {
  auto client = table_client(config);
  std::vector<nlohmann::json> items;
  std::vector<std::string> absent;
  if (options.ids.empty()) items = client.scan(options.limit);
  for (const auto& id : options.ids) {
    // And the quizzes that reused this id, stored beside it as <id>@<start>.
    auto beside = client.scan(options.limit, true, id + "@");
    if (auto item = client.get(id)) {
      items.push_back(std::move(*item));
    } else if (beside.empty()) {
      absent.push_back(id);
    }
    items.insert(items.end(), beside.begin(), beside.end());
  }
  // Newest first (RFC 3339 in UTC sorts as text).
  std::stable_sort(items.begin(), items.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return attribute_string(a, "StartTime") > attribute_string(b, "StartTime");
  });
  switch (options.output) {
    case Output::kDynamodb:
    case Output::kJson: {
      auto out = nlohmann::json::array();
      for (const auto& item : items) {
        if (options.output == Output::kDynamodb) {
          out.push_back(item);
          continue;
        }
        const auto summary = split::summarize(item);
        out.push_back({{"id", attribute_string(item, "id")},
                       {"name", attribute_string(item, "Name")},
                       {"start", attribute_string(item, "StartTime")},
                       {"stop", attribute_string(item, "StopTime")},
                       {"participants", summary.participants},
                       {"questions", summary.questions},
                       {"items", summary.items}});
      }
      std::printf("%s\n", out.dump(2).c_str());
      for (const auto& id : absent) std::fprintf(stderr, "%s: not loaded\n", id.c_str());
      return 0;
    }
    case Output::kTsv:
      for (const auto& id : absent) std::printf("%s\tnot loaded\n", id.c_str());
      for (const auto& item : items) {
        const auto summary = split::summarize(item);
        std::printf("%s\t%s\t%zu participants\t%zu questions\t%zu %s\n", attribute_string(item, "id").c_str(),
                    attribute_string(item, "Name").c_str(), summary.participants, summary.questions,
                    summary.items, summary.items == 1 ? "item" : "items");
      }
      return 0;
    case Output::kText: break;
  }
  std::vector<report::Row> rows;
  for (const auto& item : items) {
    const auto summary = split::summarize(item);
    rows.push_back({attribute_string(item, "id"), attribute_string(item, "Name"), attribute_string(item, "StartTime"),
                    std::to_string(summary.participants), std::to_string(summary.questions),
                    std::to_string(summary.items)});
  }
  for (const auto& id : absent) rows.push_back({id, "(not loaded)", "", "", "", ""});
  std::fputs(report::table({"ID", "NAME", "START", "PARTICIPANTS", "QUESTIONS", "ITEMS"}, rows, {false, false, false, true, true, true},
                           terminal_width())
                 .c_str(),
             stdout);
  return 0;
}

}  // namespace qrl::commands
