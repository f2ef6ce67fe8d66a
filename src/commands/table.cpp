// `show` and `list`: what the table holds, read back.

#include <cstdio>

#include <nlohmann/json.hpp>

#include "commands/commands.h"
#include "dynamodb/client.h"
#include "split/reassemble.h"
#include "wiring/aws.h"

namespace qrl::commands {

namespace {

std::string attribute_string(const nlohmann::json& item, const char* name) {
  auto it = item.find(name);
  if (it == item.end() || !it->contains("S")) return "";
  return (*it)["S"].get<std::string>();
}

dynamodb::Client table_client(config::Config& config) {
  auto aws = wiring::resolve_aws(config, config::process_env());
  return dynamodb::Client(config.dynamo, aws, config.loader.request_timeout);
}

}  // namespace

int show(config::Config config, const std::string& id) {
  auto client = table_client(config);
  auto item = client.get(id);
  if (!item) {
    std::fprintf(stderr, "no item with id '%s' in table '%s'\n", id.c_str(), client.table().c_str());
    return kExitFailure;
  }
  // A split quiz is printed as the single item it stands for.
  auto whole = split::reassemble(*item, [&](const std::string& part) { return client.get(part); });
  std::printf("%s\n", whole.dump(1).c_str());
  return 0;
}

int list(config::Config config, const ListOptions& options) {
  auto client = table_client(config);
  std::vector<nlohmann::json> items;
  if (options.ids.empty()) items = client.scan(options.limit);
  for (const auto& id : options.ids) {
    // And the quizzes that reused this id, stored beside it as <id>@<start>.
    auto beside = client.scan(options.limit, true, id + "@");
    if (auto item = client.get(id)) {
      items.push_back(std::move(*item));
    } else if (beside.empty()) {
      std::printf("%s\tnot loaded\n", id.c_str());
    }
    items.insert(items.end(), beside.begin(), beside.end());
  }
  for (const auto& item : items) {
    const auto summary = split::summarize(item);
    std::printf("%s\t%s\t%zu participants\t%zu questions\t%zu %s\n", attribute_string(item, "id").c_str(),
                attribute_string(item, "Name").c_str(), summary.participants, summary.questions, summary.items,
                summary.items == 1 ? "item" : "items");
  }
  return 0;
}

}  // namespace qrl::commands
