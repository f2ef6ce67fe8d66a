#pragma once
// The few DynamoDB operations the loader needs, over the JSON 1.0 protocol, signed (SigV4,
// http/sigv4.h) with the credentials of a process-wide provider. One Client per thread: it owns its HTTP
// connection. Every response's x-amz-crc32 is checked, as the AWS SDKs do.
//
// The operations the loader itself uses, and so its IAM policy: DescribeTable (start-up),
// PutItem (the item, conditional on the StartTime already stored), GetItem (only on unusual
// paths: a duplicate whose sources are gone, a split quiz before its continuation items), and
// CreateTable only when create_table is on. Scan serves the operator's `list`.

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "credentials/credentials.h"
#include "http/client.h"
#include "metrics/recorder.h"
#include "pipeline/ports.h"

namespace qrl::dynamodb {

// What DescribeTable says of the table's capacity.
struct TableCapacity {
  std::string billing_mode;  // PROVISIONED or PAY_PER_REQUEST
  double read_units = 0;     // provisioned read and write capacity units a second (0: on demand)
  double write_units = 0;
};

// Read off DescribeTable's "Table".
TableCapacity capacity_of(const nlohmann::json& table);

class Client final : public pipeline::ItemStore {
 public:
  Client(config::Dynamo settings, std::shared_ptr<credentials::Provider> credentials,
         std::chrono::milliseconds timeout);

  // Describes the table; if it is absent, creates it (partition key id, on-demand) when
  // create_table is on (the default outside Lambda), else fails with an environment error.
  // Waits until it is ACTIVE.
  void ensure_table(std::chrono::seconds wait = std::chrono::seconds(60), core::Clock& clock = core::system_clock());

  // The table's billing mode and provisioned capacity as the last ensure_table() found them
  // (empty before one succeeded).
  const std::optional<TableCapacity>& described() const { return described_; }

  // One PutItem: `attribute_not_exists(id) OR (StartTime = :start AND the participants count
  // matches)`, ReturnValues ALL_OLD (an old item in the answer is the same quiz's, written
  // again; no read is charged for it).
  Stored put_quiz(const std::string& id, const std::string& item, const Identity& identity,
                  std::size_t bytes) override;
  void put_part(const std::string& id, const std::string& item, std::size_t bytes) override;
  // A strongly consistent GetItem of the id and StartTime alone.
  std::optional<std::string> start_time(const std::string& id) override;
  // The capacity units the last put_quiz(), put_part() or start_time() consumed, as DynamoDB answered
  // (ReturnConsumedCapacity); empty when the answer did not say (or it failed).
  std::optional<double> last_consumed() const override { return last_consumed_; }
  std::optional<nlohmann::json> get(const std::string& quiz_id);  // the item, DynamoDB JSON
  // Up to `limit` items, for `list` and tests: quizzes only (no continuation items) by default;
  // with `id_prefix`, only ids that begin with it.
  std::vector<nlohmann::json> scan(std::size_t limit, bool quizzes_only = true, const std::string& id_prefix = {});
  void delete_table();  // for tests and the benchmark

  // One call: the response body parsed, or a classified core::Error.
  nlohmann::json call(std::string_view operation, const std::string& body);

  const std::string& table() const noexcept { return settings_.table; }
  void set_deadline(std::optional<core::Clock::time_point> deadline, const core::Clock& clock) {
    http_.set_deadline(deadline, clock);
  }
  // Where each request's operation and outcome are reported (default: nowhere).
  void set_recorder(metrics::Recorder& recorder) { recorder_ = &recorder; }

 private:
  config::Dynamo settings_;
  std::shared_ptr<credentials::Provider> credentials_;
  http::Client http_;
  metrics::Recorder* recorder_ = &metrics::nothing();
  std::optional<double> last_consumed_;
  std::optional<TableCapacity> described_;

  nlohmann::json call_once(std::string_view operation, const std::string& body);
  // PutItem of `item` with `condition` (a JSON fragment of the request's members, or empty).
  nlohmann::json put_item(const std::string& item, std::string_view condition, bool old_values);
};

}  // namespace qrl::dynamodb
