#pragma once
// The few DynamoDB operations the loader needs, over the JSON 1.0 protocol, signed by libcurl.
// One Client per thread: it owns its HTTP connection.

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "http/client.h"
#include "pipeline/ports.h"

namespace qrl::dynamodb {

class Client final : public pipeline::ItemStore {
 public:
  Client(config::Dynamo settings, std::chrono::milliseconds timeout);

  // Creates the table if it is absent (partition key id, on-demand) and waits until ACTIVE.
  void ensure_table(std::chrono::seconds wait = std::chrono::seconds(60));

  void put(const std::string& quiz_id, const std::string& item) override;
  bool exists(const std::string& quiz_id) override;
  std::optional<nlohmann::json> get(const std::string& quiz_id);  // the item, DynamoDB JSON
  std::vector<nlohmann::json> scan(std::size_t limit);            // for `list` and tests
  void delete_table();                                            // for tests and the benchmark

  // One call: the response body parsed, or a classified core::Error.
  nlohmann::json call(std::string_view operation, const std::string& body);

  const std::string& table() const noexcept { return settings_.table; }
  void set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline) {
    http_.set_deadline(deadline);
  }

 private:
  config::Dynamo settings_;
  http::AwsSigning signing_;
  http::Client http_;
};

}  // namespace qrl::dynamodb
