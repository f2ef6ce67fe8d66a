#include "check/check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "amqp/connection.h"
#include "amqp/topology.h"
#include "capacity/paced_items.h"
#include "core/error.h"
#include "core/retry.h"
#include "dynamodb/client.h"
#include "files/question_files.h"
#include "redis/survey.h"
#include "wiring/aws.h"

namespace qrl::check {

namespace {

// Runs one probe; prints "NAME ok|FAILED WHAT (N ms)".
bool probe(std::FILE* out, const core::Clock& clock, const char* name, const std::function<std::string()>& what) {
  auto started = clock.now();
  std::string found;
  bool ok = true;
  try {
    found = what();
  } catch (const std::exception& e) {
    found = e.what();
    ok = false;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - started);
  std::fprintf(out, "%-13s %-7s %s (%lld ms)\n", name, ok ? "ok" : "FAILED", found.c_str(),
               static_cast<long long>(ms.count()));
  std::fflush(out);
  return ok;
}

}  // namespace

std::string whole(double value) { return std::to_string(static_cast<long long>(value)); }

std::string fixed(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

namespace {

// What each probe found, in one line; a probe throws what it could not do.
std::string probe_rabbitmq(const config::Config& config) {
  const auto& rabbit = config.rabbit;
  amqp::Connection connection(rabbit);
  std::string found = "logged in to " + connection.endpoint() +
                      (rabbit.nodes.size() > 1 ? " (node " + std::to_string(connection.node() + 1) + " of " +
                                                     std::to_string(rabbit.nodes.size()) + ")"
                                               : "") +
                      (rabbit.tls.enabled ? " over TLS" : "") + " as '" + rabbit.username + "' in vhost '" +
                      rabbit.vhost + "'";
  std::string refused;
  for (const auto& queue : amqp::topology::survey(connection, rabbit)) {
    found += ", " + queue.role + " queue '" + queue.name + "' ";
    // What serve declares on a first start is news, not a failure.
    found += queue.ready ? "has " + std::to_string(*queue.ready) + " ready"
                         : "is absent, serve creates it (" + rabbit.queue_type + ")";
    if (!queue.refused.empty()) refused += (refused.empty() ? "" : "; ") + queue.refused;
  }
  connection.close();
  if (!refused.empty()) {
    throw core::environment_error(core::Stage::kSetup, found + "; but " + refused, core::Code::kRabbitQueue);
  }
  return found;
}

std::string probe_redis(const config::Config& config) {
  // Opening logs in, selects the database and PINGs, as serve does; on a cluster, the map too.
  const auto found = redis::survey(config.redis, config.loader.request_timeout);
  const auto& redis = config.redis;
  std::string text = found.node + " (" + found.describe() + ")" + (redis.tls.enabled ? " over TLS" : "") +
                     ", logged in as " +
                     (redis.username.empty() ? (redis.password.empty() ? "the default user (no password)" : "the default user")
                                             : "'" + redis.username + "'") +
                     ", database " + std::to_string(redis.db) + ", answered PING";
  if (auto problem = found.problem()) {
    throw core::transient_error(core::Stage::kSetup, text + ", but " + *problem);
  }
  return text;
}

// A provisioned table too slow for one quiz of max_answers within the hour: a warning.
std::optional<std::string> capacity_warning(const config::Config& config, const dynamodb::TableCapacity& capacity) {
  const double units = capacity::quiz_write_units(config.loader.max_answers);
  const double hours = capacity.write_units > 0 ? units / capacity.write_units / 3600 : 0;
  if (hours <= 1) return std::nullopt;
  return "one quiz of max_answers (" + std::to_string(config.loader.max_answers) + ") answers is about " +
         whole(units) + " write units: " + fixed(hours) + " h at the table's " + whole(capacity.write_units) +
         " WCU (and a message held that long passes RabbitMQ's consumer_timeout, 30 min by "
         "default); raise the table's write capacity, or lower loader.max_answers";
}

std::string probe_dynamodb(config::Config& config, const config::Env& env, std::vector<std::string>& warnings) {
  auto aws = wiring::resolve_aws(config, env);
  dynamodb::Client client(config.dynamo, aws, config.loader.request_timeout);
  const std::string where = config.dynamo.endpoint_url + " region " + config.dynamo.region + ", credentials from " +
                            aws->source_name() + ", table '" + config.dynamo.table + "' is ";
  try {
    auto table = client.call("DescribeTable", nlohmann::json{{"TableName", config.dynamo.table}}.dump())["Table"];
    const auto capacity = dynamodb::capacity_of(table);
    std::string found = where + table.value("TableStatus", "?") + ", " + capacity.billing_mode;
    if (capacity.billing_mode != "PROVISIONED") return found;
    if (auto warning = capacity_warning(config, capacity)) warnings.push_back(*warning);
    return found + " " + whole(capacity.write_units) + " WCU / " + whole(capacity.read_units) + " RCU";
  } catch (const core::Error& e) {
    // A first start: serve creates the table when create_table is on.
    if (e.code() != core::Code::kTableMissing || !config.dynamo.create_table.value_or(true)) throw;
    return where + "absent, serve creates it (create_table is on)";
  }
}

std::string probe_question_set(const config::Config& config) {
  const auto& path = config.question_set_path;
  try {
    files::QuestionFiles(path).check_access();
  } catch (const core::Error& e) {
    throw core::Error(e.kind(), e.stage(), std::string(e.what()) + "; " + core::remedy(e), {}, e.problem(), e.code());
  }
  return "'" + path + "' is a readable and writable directory";
}

}  // namespace

int run(config::Config config, const config::Env& env, std::FILE* out, const core::Clock& clock) {
  std::vector<std::string> warnings;  // printed after the probes; they do not fail the check
  bool ok = true;
  ok &= probe(out, clock, "rabbitmq", [&] { return probe_rabbitmq(config); });
  ok &= probe(out, clock, "redis", [&] { return probe_redis(config); });
  ok &= probe(out, clock, "dynamodb", [&] { return probe_dynamodb(config, env, warnings); });
  ok &= probe(out, clock, "question-set", [&] { return probe_question_set(config); });
  for (const auto& warning : warnings) {
    std::fprintf(out, "%-13s %-7s %s\n", "dynamodb", "WARNING", warning.c_str());
  }
  std::fflush(out);
  return ok ? 0 : 1;
}

}  // namespace qrl::check
