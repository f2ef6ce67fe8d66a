#include "config/config.h"

#include "core/ids.h"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace qrl::config {

namespace {

std::string trim(std::string_view text) {
  const char* ws = " \t\r\n";
  auto begin = text.find_first_not_of(ws);
  if (begin == std::string_view::npos) return {};
  auto end = text.find_last_not_of(ws);
  return std::string(text.substr(begin, end - begin + 1));
}

struct Key {
  const char* name;  // section.key
  const char* env;
  unsigned need;  // 0 = optional
};

// Every setting, with the environment variable that overrides it.
constexpr Key kKeys[] = {
    {"rabbit-mq.host", "RABBITMQ_HOST", kNeedRabbit},
    {"rabbit-mq.port", "RABBITMQ_PORT", 0},  // 5672, or 5671 with TLS
    {"rabbit-mq.username", "RABBITMQ_USERNAME", kNeedRabbit},
    {"rabbit-mq.password", "RABBITMQ_PASSWORD", kNeedRabbit},
    {"rabbit-mq.queue_name", "RABBITMQ_QUEUE_NAME", 0},
    {"rabbit-mq.dead_letter_queue", "RABBITMQ_DEAD_LETTER_QUEUE", 0},
    {"rabbit-mq.retry_queue", "RABBITMQ_RETRY_QUEUE", 0},
    {"rabbit-mq.vhost", "RABBITMQ_VHOST", 0},
    {"rabbit-mq.tls", "RABBITMQ_TLS", 0},
    {"rabbit-mq.ca_file", "RABBITMQ_CA_FILE", 0},
    {"rabbit-mq.cert_file", "RABBITMQ_CERT_FILE", 0},
    {"rabbit-mq.key_file", "RABBITMQ_KEY_FILE", 0},
    {"rabbit-mq.heartbeat_s", "RABBITMQ_HEARTBEAT_S", 0},
    {"rabbit-mq.queue_type", "RABBITMQ_QUEUE_TYPE", 0},
    {"redis.host", "REDIS_HOST", kNeedRedis},
    {"redis.port", "REDIS_PORT", 0},  // 6379
    {"redis.username", "REDIS_USERNAME", 0},
    {"redis.password", "REDIS_PASSWORD", 0},
    {"redis.db", "REDIS_DB", 0},
    {"redis.cluster", "REDIS_CLUSTER", 0},
    {"redis.max_keys_per_command", "REDIS_MAX_KEYS_PER_COMMAND", 0},
    {"redis.tls", "REDIS_TLS", 0},
    {"redis.ca_file", "REDIS_CA_FILE", 0},
    {"redis.cert_file", "REDIS_CERT_FILE", 0},
    {"redis.key_file", "REDIS_KEY_FILE", 0},
    {"question-set.path", "QUESTION_SET_PATH", kNeedQuestions},
    {"question-set.max_bytes", "QUESTION_SET_MAX_BYTES", 0},
    // Region and keys are optional here: the AWS chain (credentials/sources.h) supplies them.
    {"dynamodb.region", "DYNAMODB_REGION", 0},
    {"dynamodb.endpoint_url", "DYNAMODB_ENDPOINT_URL", 0},
    {"dynamodb.access_key_id", "DYNAMODB_ACCESS_KEY_ID", 0},
    {"dynamodb.secret_access_key", "DYNAMODB_SECRET_ACCESS_KEY", 0},
    {"dynamodb.session_token", "DYNAMODB_SESSION_TOKEN", 0},
    {"dynamodb.table", "DYNAMODB_TABLE", 0},
    {"dynamodb.create_table", "DYNAMODB_CREATE_TABLE", 0},
    {"loader.workers", "LOADER_WORKERS", 0},
    {"loader.drain_timeout_s", "LOADER_DRAIN_TIMEOUT_S", 0},
    {"loader.request_timeout_ms", "LOADER_REQUEST_TIMEOUT_MS", 0},
    {"loader.retry_attempts", "LOADER_RETRY_ATTEMPTS", 0},
    {"loader.max_deliveries", "LOADER_MAX_DELIVERIES", 0},
    {"loader.max_answers", "LOADER_MAX_ANSWERS", 0},
    {"loader.requeue_delay_s", "LOADER_REQUEUE_DELAY_S", 0},
    {"loader.deadline_margin_ms", "LOADER_DEADLINE_MARGIN_MS", 0},
    {"loader.settle_ms", "LOADER_SETTLE_MS", 0},
    {"loader.pace_writes", "LOADER_PACE_WRITES", 0},
    {"loader.capacity_share_percent", "LOADER_CAPACITY_SHARE_PERCENT", 0},
    {"loader.sweep_interval_s", "LOADER_SWEEP_INTERVAL_S", 0},
    {"loader.sweep_min_age_s", "LOADER_SWEEP_MIN_AGE_S", 0},
    {"loader.metrics_port", "LOADER_METRICS_PORT", 0},
    {"loader.log_level", "LOADER_LOG_LEVEL", 0},
    {"loader.log_format", "LOADER_LOG_FORMAT", 0},
};

// A setting as this mode knows it: its INI name and the environment variable that sets it.
struct Named {
  const char* name;
  std::string env;
};

class Lookup {
 public:
  Lookup(const std::map<std::string, std::string>& file, const Env& env) : file_(file), env_(env) {}

  Named named(const Key& key) const { return {key.name, key.env}; }

  std::optional<std::string> get(const Key& key) const {
    if (auto value = env_(named(key).env)) return value;
    auto it = file_.find(key.name);
    if (it != file_.end() && !it->second.empty()) return it->second;
    return std::nullopt;
  }

 private:
  const std::map<std::string, std::string>& file_;
  const Env& env_;
};

const Key& key(std::string_view name) {
  for (const auto& k : kKeys) {
    if (name == k.name) return k;
  }
  throw ConfigError("unknown config key '" + std::string(name) + "' (a defect of the loader)");
}

std::string origin_of(const Named& k) {
  return std::string("'") + k.name + "' (" + k.env + ")";
}

int integer(const Named& k, const std::string& value, int min, int max, std::string_view what) {
  int out = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || end != value.data() + value.size() || out < min || out > max) {
    throw ConfigError("config item " + origin_of(k) + " is " + core::printable(value) + ": expected " +
                      std::string(what) + " from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return out;
}

int port(const Named& k, const std::string& value) {
  return integer(k, value, 1, 65535, "a port number");
}

std::string url(const Named& k, const std::string& value) {
  auto scheme_end = value.find("://");
  std::string scheme = scheme_end == std::string::npos ? "" : value.substr(0, scheme_end);
  bool ok = (scheme == "http" || scheme == "https") && value.size() > scheme_end + 3 &&
            value.find_first_of(" \t\r\n") == std::string::npos && value[scheme_end + 3] != '/' &&
            value[scheme_end + 3] != ':';
  if (!ok) {
    throw ConfigError("config item " + origin_of(k) + " is " + core::printable(value) +
                      ": expected an http:// or https:// URL with a host");
  }
  std::string out = value;
  while (out.size() > scheme_end + 4 && out.back() == '/') out.pop_back();
  return out;
}

bool boolean(const Named& k, const std::string& value) {
  for (const char* yes : {"true", "yes", "on", "1"}) {
    if (value == yes) return true;
  }
  for (const char* no : {"false", "no", "off", "0"}) {
    if (value == no) return false;
  }
  throw ConfigError("config item " + origin_of(k) + " is " + core::printable(value) +
                    ": expected true or false");
}

std::string one_of(const Named& k, const std::string& value, std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed) {
    if (value == a) return value;
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  throw ConfigError("config item " + origin_of(k) + " is " + core::printable(value) + ": expected one of " +
                    list);
}

// "host[:port]" items, comma-separated; a bracketed IPv6 address keeps its colons ("[::1]:7000").
std::vector<Node> host_list(const Named& k, const std::string& value, int default_port) {
  std::vector<Node> nodes;
  for (std::size_t from = 0; from <= value.size();) {
    auto comma = value.find(',', from);
    if (comma == std::string::npos) comma = value.size();
    std::string item = value.substr(from, comma - from);
    from = comma + 1;
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    Node node{item, default_port};
    const auto close = item.rfind(']');
    const auto colon = item.rfind(':');
    if (colon != std::string::npos && (close == std::string::npos ? item.find(':') == colon : colon > close)) {
      node.host = item.substr(0, colon);
      node.port = port(k, item.substr(colon + 1));
    }
    if (node.host.size() > 2 && node.host.front() == '[' && node.host.back() == ']')
      node.host = node.host.substr(1, node.host.size() - 2);
    if (node.host.empty() || node.host.find_first_of(" \t/") != std::string::npos) {
      throw ConfigError("config item " + origin_of(k) + " is " + core::printable(value) +
                        ": expected host[:port] items, comma-separated");
    }
    nodes.push_back(std::move(node));
  }
  return nodes;
}

// The TLS settings of one server's section: `<section>.tls`, `.ca_file`, `.cert_file`, `.key_file`.
void tls(const Lookup& lookup, const std::string& section, Tls& out) {
  auto get = [&](const char* name) { return lookup.get(key(section + "." + name)); };
  if (auto value = get("tls")) out.enabled = boolean(lookup.named(key(section + ".tls")), *value);
  out.ca_file = get("ca_file").value_or("");
  out.cert_file = get("cert_file").value_or("");
  out.key_file = get("key_file").value_or("");
  if (out.cert_file.empty() != out.key_file.empty()) {
    const auto& given = key(section + (out.cert_file.empty() ? ".key_file" : ".cert_file"));
    const auto& absent = key(section + (out.cert_file.empty() ? ".cert_file" : ".key_file"));
    throw ConfigError("config item " + origin_of(lookup.named(given)) + " is set but " +
                      origin_of(lookup.named(absent)) + " is not: a client certificate needs both");
  }
  if (!out.enabled && !(out.ca_file.empty() && out.cert_file.empty())) {
    throw ConfigError("config item " + origin_of(lookup.named(key(section + ".tls"))) +
                      " is off but TLS files are set: turn TLS on, or remove them");
  }
}

// One part of the settings, read through the lookup: with(name, apply) calls apply(named, value)
// when the setting has a value.
struct Section {
  const Lookup& lookup;
  std::optional<std::string> get(const char* name) const { return lookup.get(key(name)); }
  template <typename F>
  void with(const char* name, F&& apply) const {
    if (auto value = get(name)) apply(lookup.named(key(name)), *value);
  }
};
using S = const std::string&;
using K = const Named&;

// RabbitMQ: the broker, the login, the queues, TLS.
void resolve_rabbit(const Lookup& lookup, Config& config) {
  Section in{lookup};
  in.with("rabbit-mq.host", [&](K, S v) { config.rabbit.host = v; });
  in.with("rabbit-mq.port", [&](K k, S v) { config.rabbit.port = port(k, v); });
  in.with("rabbit-mq.username", [&](K, S v) { config.rabbit.username = v; });
  in.with("rabbit-mq.password", [&](K, S v) { config.rabbit.password = v; });
  in.with("rabbit-mq.queue_name", [&](K, S v) { config.rabbit.queue_name = v; });
  config.rabbit.dead_letter_queue = config.rabbit.queue_name + ".dlq";
  in.with("rabbit-mq.dead_letter_queue", [&](K, S v) { config.rabbit.dead_letter_queue = v; });
  config.rabbit.retry_queue = config.rabbit.queue_name + ".retry";
  in.with("rabbit-mq.retry_queue", [&](K, S v) { config.rabbit.retry_queue = v; });
  in.with("rabbit-mq.vhost", [&](K, S v) { config.rabbit.vhost = v; });
  in.with("rabbit-mq.heartbeat_s", [&](K k, S v) {
    config.rabbit.heartbeat = std::chrono::seconds(integer(k, v, 0, 3600, "seconds (0: none)"));
  });
  in.with("rabbit-mq.queue_type", [&](K k, S v) { config.rabbit.queue_type = one_of(k, v, {"classic", "quorum"}); });
  tls(lookup, "rabbit-mq", config.rabbit.tls);
  // The IANA ports: AMQP 5672, AMQPS 5671 (the replaced loader's image assumed 5672).
  if (!in.get("rabbit-mq.port")) config.rabbit.port = config.rabbit.tls.enabled ? 5671 : 5672;
  in.with("rabbit-mq.host", [&](K k, S v) { config.rabbit.nodes = host_list(k, v, config.rabbit.port); });
  if (!config.rabbit.nodes.empty()) {
    config.rabbit.host = config.rabbit.nodes.front().host;
    config.rabbit.port = config.rabbit.nodes.front().port;
  }
}

// Redis: the server, the login, the database, TLS.
void resolve_redis(const Lookup& lookup, Config& config) {
  Section in{lookup};
  in.with("redis.host", [&](K, S v) { config.redis.host = v; });
  in.with("redis.port", [&](K k, S v) { config.redis.port = port(k, v); });
  in.with("redis.username", [&](K, S v) { config.redis.username = v; });
  in.with("redis.password", [&](K, S v) { config.redis.password = v; });
  in.with("redis.db", [&](K k, S v) { config.redis.db = integer(k, v, 0, 1'000'000, "a database number"); });
  in.with("redis.max_keys_per_command",
       [&](K k, S v) { config.redis.max_keys_per_command = integer(k, v, 1, 100'000, "a key count"); });
  in.with("redis.cluster", [&](K k, S v) { config.redis.cluster = one_of(k, v, {"auto", "on", "off"}); });
  in.with("redis.host", [&](K k, S v) { config.redis.nodes = host_list(k, v, config.redis.port); });
  if (!config.redis.nodes.empty()) {
    config.redis.host = config.redis.nodes.front().host;
    config.redis.port = config.redis.nodes.front().port;
  }
  if (config.redis.cluster == "on" && config.redis.db != 0) {
    throw ConfigError("config item 'redis.db' (REDIS_DB) is " + std::to_string(config.redis.db) +
                      ", but a Redis cluster has only database 0 (redis.cluster is 'on')");
  }
  if (!config.redis.username.empty() && config.redis.password.empty()) {
    throw ConfigError(
        "config item 'redis.username' (REDIS_USERNAME) is set but 'redis.password' "
        "(REDIS_PASSWORD) is not: an ACL user logs in with a password");
  }
  tls(lookup, "redis", config.redis.tls);
}

// The question-set directory and DynamoDB.
void resolve_dynamo(const Lookup& lookup, Config& config) {
  Section in{lookup};
  in.with("question-set.path", [&](K, S v) { config.question_set_path = v; });
  in.with("question-set.max_bytes", [&](K k, S v) {
    config.question_set_max_bytes = static_cast<std::size_t>(integer(k, v, 1024, 1 << 30, "a size in bytes"));
  });
  in.with("dynamodb.region", [&](K, S v) { config.dynamo.region = v; });
  in.with("dynamodb.access_key_id", [&](K, S v) { config.dynamo.access_key_id = v; });
  in.with("dynamodb.secret_access_key", [&](K, S v) { config.dynamo.secret_access_key = v; });
  in.with("dynamodb.session_token", [&](K, S v) { config.dynamo.session_token = v; });
  in.with("dynamodb.table", [&](K, S v) { config.dynamo.table = v; });
  in.with("dynamodb.create_table", [&](K k, S v) { config.dynamo.create_table = boolean(k, v); });
  in.with("dynamodb.endpoint_url", [&](K k, S v) { config.dynamo.endpoint_url = url(k, v); });
}

// The loader itself: workers, time limits, retries, metrics, logs.
void resolve_loader(const Lookup& lookup, Config& config) {
  Section in{lookup};
  in.with("loader.workers", [&](K k, S v) { config.loader.workers = integer(k, v, 1, 256, "a worker count"); });
  in.with("loader.drain_timeout_s", [&](K k, S v) {
    config.loader.drain_timeout = std::chrono::seconds(integer(k, v, 0, 3600, "seconds"));
  });
  in.with("loader.request_timeout_ms", [&](K k, S v) {
    config.loader.request_timeout = std::chrono::milliseconds(integer(k, v, 100, 600000, "milliseconds"));
  });
  in.with("loader.retry_attempts",
       [&](K k, S v) { config.loader.retry_attempts = integer(k, v, 1, 100, "an attempt count"); });
  in.with("loader.max_deliveries",
       [&](K k, S v) { config.loader.max_deliveries = integer(k, v, 1, 1000, "a delivery count"); });
  in.with("loader.max_answers",
       [&](K k, S v) { config.loader.max_answers = integer(k, v, 1, 100'000'000, "an answer count"); });
  in.with("loader.requeue_delay_s", [&](K k, S v) {
    config.loader.requeue_delay = std::chrono::seconds(integer(k, v, 1, 86400, "seconds"));
  });
  in.with("loader.settle_ms", [&](K k, S v) {
    config.loader.settle = std::chrono::milliseconds(integer(k, v, 0, 600000, "milliseconds"));
  });
  in.with("loader.pace_writes", [&](K k, S v) { config.loader.pace_writes = boolean(k, v); });
  in.with("loader.capacity_share_percent", [&](K k, S v) {
    config.loader.capacity_share_percent = static_cast<int>(integer(k, v, 1, 100, "a percentage"));
  });
  in.with("loader.sweep_interval_s", [&](K k, S v) {
    config.loader.sweep_interval = std::chrono::seconds(integer(k, v, 0, 604800, "seconds"));
  });
  in.with("loader.sweep_min_age_s", [&](K k, S v) {
    config.loader.sweep_min_age = std::chrono::seconds(integer(k, v, 0, 31536000, "seconds"));
  });
  in.with("loader.deadline_margin_ms", [&](K k, S v) {
    config.loader.deadline_margin = std::chrono::milliseconds(integer(k, v, 0, 900000, "milliseconds"));
  });
  in.with("loader.metrics_port", [&](K k, S v) { config.loader.metrics_port = port(k, v); });
  in.with("loader.log_level", [&](K k, S v) {
    config.loader.log_level = one_of(k, v, {"debug", "info", "warn", "error"});
  });
  in.with("loader.log_format", [&](K k, S v) { config.loader.log_format = one_of(k, v, {"text", "json"}); });
}

}  // namespace

Env process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
}

std::map<std::string, std::string> parse_ini(std::string_view text, std::string_view origin) {
  std::map<std::string, std::string> out;
  std::string section;
  std::istringstream in{std::string(text)};
  std::string raw;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    auto where = [&] { return std::string(origin) + ":" + std::to_string(line_no); };
    if (line.front() == '[') {
      if (line.back() != ']') throw ConfigError(where() + ": section header is missing ']'");
      section = trim(std::string_view(line).substr(1, line.size() - 2));
      continue;
    }
    auto eq = line.find_first_of("=:");
    if (eq == std::string::npos) throw ConfigError(where() + ": expected 'key = value'");
    if (section.empty()) throw ConfigError(where() + ": key outside of a [section]");
    std::string name = trim(std::string_view(line).substr(0, eq));
    std::string value = trim(std::string_view(line).substr(eq + 1));
    // An inline comment starts at ';' or '#' after white space.
    for (std::size_t i = 1; i < value.size(); ++i) {
      if ((value[i] == ';' || value[i] == '#') && (value[i - 1] == ' ' || value[i - 1] == '\t')) {
        value = trim(std::string_view(value).substr(0, i));
        break;
      }
    }
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    out[section + "." + name] = value;
  }
  return out;
}

Config resolve(const std::map<std::string, std::string>& file, const Env& env, unsigned needs) {
  Lookup lookup(file, env);
  std::vector<std::string> missing;
  for (const auto& k : kKeys) {
    if ((k.need & needs) != 0 && !lookup.get(k)) missing.emplace_back(k.name);
  }
  if (!missing.empty()) {
    std::string message;
    for (const auto& name : missing) {
      if (!message.empty()) message += "; ";
      message +=
          "config item '" + name + "' was not set (environment variable " + lookup.named(key(name)).env + ")";
    }
    throw ConfigError(message);
  }

  Config config;
  resolve_rabbit(lookup, config);
  resolve_redis(lookup, config);
  resolve_dynamo(lookup, config);
  resolve_loader(lookup, config);
  return config;
}

Config load(const std::string& path, bool path_explicit, const Env& env, unsigned needs) {
  std::map<std::string, std::string> file;
  std::ifstream in(path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    file = parse_ini(text.str(), path);
  } else if (path_explicit) {
    throw ConfigError("cannot read config file '" + path + "': " + std::strerror(errno));
  }
  return resolve(file, env, needs);
}

Config load_lambda(const Env& env) {
  // AWS_REGION and the AWS_* keys Lambda provides are found by the credential chain.
  auto config = resolve({}, env, kNeedRedis | kNeedQuestions | kNeedDynamo);
  // The table exists in every real deployment; the function's role need not create it.
  if (!config.dynamo.create_table) config.dynamo.create_table = false;
  config.dynamo.local_defaults = false;
  return config;
}

std::string describe(const Config& config) {
  std::ostringstream out;
  out << "rabbitmq=" << config.rabbit.host << ":" << config.rabbit.port
      << " queue=" << config.rabbit.queue_name << " dlq=" << config.rabbit.dead_letter_queue
      << " vhost=" << config.rabbit.vhost << " queue_type=" << config.rabbit.queue_type
      << " rabbitmq_nodes=" << config.rabbit.nodes.size() << " rabbitmq_tls=" << (config.rabbit.tls.enabled ? "yes" : "no")
      << " redis=" << config.redis.host << ":" << config.redis.port << " redis_db=" << config.redis.db
      << " redis_user=" << (config.redis.username.empty() ? "default" : config.redis.username)
      << " redis_tls=" << (config.redis.tls.enabled ? "yes" : "no")
      << " question_set_path=" << config.question_set_path << " dynamodb=" << config.dynamo.endpoint_url
      << " region=" << config.dynamo.region << " table=" << config.dynamo.table
      << " create_table=" << (config.dynamo.create_table.value_or(true) ? "yes" : "no")
      << " workers=" << config.loader.workers << " settle_ms=" << config.loader.settle.count()
      << " pace_writes=" << (config.loader.pace_writes ? "yes" : "no") << " metrics_port="
      << (config.loader.metrics_port ? std::to_string(*config.loader.metrics_port) : "off");
  return out.str();
}

}  // namespace qrl::config
