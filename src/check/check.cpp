#include "check/check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>

#include "amqp/connection.h"
#include "core/error.h"
#include "core/retry.h"
#include "dynamodb/client.h"
#include "files/question_files.h"
#include "redis/connection.h"
#include "wiring/aws.h"

namespace qrl::check {

namespace {

// Runs one probe; prints "NAME ok|FAILED WHAT (N ms)".
bool probe(std::FILE* out, const char* name, const std::function<std::string()>& what) {
  auto started = std::chrono::steady_clock::now();
  std::string found;
  bool ok = true;
  try {
    found = what();
  } catch (const std::exception& e) {
    found = e.what();
    ok = false;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  std::fprintf(out, "%-13s %-7s %s (%lld ms)\n", name, ok ? "ok" : "FAILED", found.c_str(),
               static_cast<long long>(ms.count()));
  std::fflush(out);
  return ok;
}

}  // namespace

int run(config::Config config, const config::Env& env, std::FILE* out) {
  const auto timeout = config.loader.request_timeout;
  bool ok = true;
  ok &= probe(out, "rabbitmq", [&] {
    amqp::Connection connection(config.rabbit);
    const auto& queue = config.rabbit.queue_name;
    std::string found = "logged in to " + connection.endpoint() +
                        (config.rabbit.tls.enabled ? " over TLS" : "") + " as '" + config.rabbit.username +
                        "' in vhost '" + config.rabbit.vhost + "'";
    try {
      found += ", queue '" + queue + "' has " + std::to_string(connection.inspect_queue(queue)) + " ready";
    } catch (const core::Error&) {
      // The producer declares it, and `serve` would: its absence is news, not a failure.
      found += ", queue '" + queue + "' is absent, serve creates it";
    }
    connection.close();
    return found;
  });
  ok &= probe(out, "redis", [&] {
    // Opening the connection logs in, selects the database and PINGs, as serve does.
    redis::Connection connection(config.redis, timeout);
    const auto& redis = config.redis;
    return connection.endpoint() + (redis.tls.enabled ? " over TLS" : "") + ", logged in as " +
           (redis.username.empty()
                ? (redis.password.empty() ? "the default user (no password)" : "the default user")
                : "'" + redis.username + "'") +
           ", database " + std::to_string(redis.db) + ", answered PING";
  });
  ok &= probe(out, "dynamodb", [&] {
    auto aws = wiring::resolve_aws(config, env);
    dynamodb::Client client(config.dynamo, aws, timeout);
    const std::string where = config.dynamo.endpoint_url + " region " + config.dynamo.region +
                              ", credentials from " + aws->source_name() + ", table '" + config.dynamo.table +
                              "' is ";
    try {
      auto table = client.call("DescribeTable", nlohmann::json{{"TableName", config.dynamo.table}}.dump());
      return where + table["Table"].value("TableStatus", "?");
    } catch (const core::Error& e) {
      // A first start: serve creates the table when create_table is on.
      if (e.code() != core::Code::kTableMissing || !config.dynamo.create_table.value_or(true)) throw;
      return where + "absent, serve creates it (create_table is on)";
    }
  });
  ok &= probe(out, "question-set", [&] {
    const auto& path = config.question_set_path;
    try {
      files::QuestionFiles(path).check_access();
    } catch (const core::Error& e) {
      throw core::Error(e.kind(), e.stage(), std::string(e.what()) + "; " + core::remedy(e), {}, e.problem(),
                        e.code());
    }
    return "'" + path + "' is a readable and writable directory";
  });
  return ok ? 0 : 1;
}

}  // namespace qrl::check
