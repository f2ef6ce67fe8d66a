#include "credentials/sources.h"

#include <fstream>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "http/client.h"

namespace qrl::credentials {

namespace {

// Every refusal here is about the credentials themselves: one code, one remedy.
core::Error credentials_refused(core::Stage stage, const std::string& message) {
  return core::environment_error(stage, message, core::Code::kAwsCredentials);
}
using core::Stage;

class Static final : public Source {
 public:
  Static(std::string name, Credentials credentials)
      : name_(std::move(name)), credentials_(std::move(credentials)) {}
  std::string name() const override { return name_; }
  Credentials fetch() override { return credentials_; }

 private:
  std::string name_;
  Credentials credentials_;
};

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string trim(std::string text) {
  const char* ws = " \t\r\n";
  auto begin = text.find_first_not_of(ws);
  if (begin == std::string::npos) return {};
  return text.substr(begin, text.find_last_not_of(ws) - begin + 1);
}

std::string url_encode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The text of <tag>...</tag> in an STS answer (its XML is flat and never escapes these values).
std::string xml_text(const std::string& xml, const std::string& tag) {
  auto open = xml.find("<" + tag + ">");
  if (open == std::string::npos) return {};
  open += tag.size() + 2;
  auto close = xml.find("</" + tag + ">", open);
  return close == std::string::npos ? std::string() : xml.substr(open, close - open);
}

// The JSON document the ECS endpoint and IMDS both serve.
Credentials from_json(const std::string& body, const std::string& source) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  auto text = [&](const char* name) -> std::string {
    if (!json.is_object()) return {};
    auto it = json.find(name);
    return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (auto code = text("Code"); !code.empty() && code != "Success") {
    throw credentials_refused(Stage::kSetup, source + " refused credentials: " + code + " " + text("Message"));
  }
  Credentials out{text("AccessKeyId"), text("SecretAccessKey"), text("Token"), std::nullopt, 0};
  if (out.access_key_id.empty() || out.secret_access_key.empty()) {
    throw core::transient_error(Stage::kSetup, source + " answered without AccessKeyId/SecretAccessKey");
  }
  if (auto expiration = text("Expiration"); !expiration.empty()) {
    out.expiration = parse_expiration(expiration);
    if (!out.expiration) {
      throw core::transient_error(Stage::kSetup, source + " answered an Expiration that is not a UTC time");
    }
  }
  return out;
}

http::Response get_checked(http::Client& http, const http::Request& request, const std::string& source) {
  http::Response response;
  try {
    response = http.send(request);
  } catch (const core::Error& e) {
    // Unreachable is transient; a certificate that fails verification stays the environment's.
    throw core::Error(e.kind(), Stage::kSetup, source + ": " + e.what(), {}, e.problem(), e.code());
  }
  if (response.status == 401 || response.status == 403) {
    throw credentials_refused(Stage::kSetup, source + " answered HTTP " + std::to_string(response.status));
  }
  if (response.status != 200) {
    throw core::transient_error(Stage::kSetup, source + " answered HTTP " + std::to_string(response.status));
  }
  return response;
}

class WebIdentity final : public Source {
 public:
  WebIdentity(std::string token_file, std::string role_arn, std::string session, std::string sts_url,
              std::chrono::milliseconds timeout)
      : token_file_(std::move(token_file)),
        role_arn_(std::move(role_arn)),
        session_(std::move(session)),
        sts_url_(std::move(sts_url)),
        http_(timeout) {}
  std::string name() const override { return "web identity (" + role_arn_ + " via " + sts_url_ + ")"; }

  Credentials fetch() override {
    // Read each time: the kubelet rotates the projected token file.
    auto token = read_file(token_file_);
    if (!token) {
      throw credentials_refused(Stage::kSetup, "cannot read AWS_WEB_IDENTITY_TOKEN_FILE '" + token_file_ + "'");
    }
    http::Request request;
    request.method = "POST";
    request.url = sts_url_ + "/";
    request.headers = {"Content-Type: application/x-www-form-urlencoded; charset=utf-8"};
    request.body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" + url_encode(role_arn_) +
                   "&RoleSessionName=" + url_encode(session_) +
                   "&WebIdentityToken=" + url_encode(trim(*token));
    http::Response response;
    try {
      response = http_.send(request);
    } catch (const core::Error& e) {
      throw core::Error(e.kind(), Stage::kSetup, "STS " + sts_url_ + ": " + e.what(), {}, e.problem(), e.code());
    }
    if (response.status != 200) {
      auto code = xml_text(response.body, "Code");
      auto message = "STS AssumeRoleWithWebIdentity answered HTTP " + std::to_string(response.status) + " " +
                     code + ": " + xml_text(response.body, "Message");
      if (response.status >= 500 || code == "Throttling" || code == "IDPCommunicationError")
        throw core::transient_error(Stage::kSetup, message);
      throw credentials_refused(Stage::kSetup, message);
    }
    Credentials out{xml_text(response.body, "AccessKeyId"), xml_text(response.body, "SecretAccessKey"),
                    xml_text(response.body, "SessionToken"),
                    parse_expiration(xml_text(response.body, "Expiration")), 0};
    if (out.access_key_id.empty() || out.secret_access_key.empty() || !out.expiration) {
      throw core::transient_error(Stage::kSetup, "STS answered without credentials and an expiration");
    }
    return out;
  }

 private:
  std::string token_file_, role_arn_, session_, sts_url_;
  http::Client http_;
};

class Container final : public Source {
 public:
  Container(std::string url, std::string token, std::string token_file, std::chrono::milliseconds timeout)
      : url_(std::move(url)), token_(std::move(token)), token_file_(std::move(token_file)), http_(timeout) {}
  std::string name() const override { return "container endpoint (" + url_ + ")"; }

  Credentials fetch() override {
    http::Request request;
    request.url = url_;
    std::string token = token_;
    if (!token_file_.empty()) {
      auto text = read_file(token_file_);
      if (!text) {
        throw credentials_refused(Stage::kSetup,
                                "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE '" + token_file_ + "'");
      }
      token = trim(*text);
    }
    if (!token.empty()) request.headers.push_back("Authorization: " + token);
    return from_json(get_checked(http_, request, name()).body, name());
  }

 private:
  std::string url_, token_, token_file_;
  http::Client http_;
};

class InstanceMetadata final : public Source {
 public:
  InstanceMetadata(std::string endpoint, std::chrono::milliseconds timeout)
      : endpoint_(std::move(endpoint)), http_(timeout) {}
  std::string name() const override { return "instance metadata (" + endpoint_ + ")"; }

  // The chain probes the service with a first fetch; the provider's first fetch then takes
  // those credentials instead of asking again.
  void prime(Credentials credentials) { primed_ = std::move(credentials); }

  Credentials fetch() override {
    if (primed_) return *std::exchange(primed_, std::nullopt);
    // IMDSv2: a session token first (PUT), then the role's name, then its credentials.
    http::Request put;
    put.method = "PUT";
    put.url = endpoint_ + "/latest/api/token";
    put.headers = {"X-aws-ec2-metadata-token-ttl-seconds: 21600"};
    auto token = get_checked(http_, put, name()).body;
    http::Request get;
    get.url = endpoint_ + "/latest/meta-data/iam/security-credentials/";
    get.headers = {"X-aws-ec2-metadata-token: " + token};
    auto role = trim(get_checked(http_, get, name()).body);
    role = role.substr(0, role.find('\n'));
    if (role.empty()) throw credentials_refused(Stage::kSetup, name() + ": the instance has no IAM role");
    get.url += role;
    return from_json(get_checked(http_, get, name()).body, name());
  }

 private:
  std::string endpoint_;
  http::Client http_;
  std::optional<Credentials> primed_;
};

std::string home_file(const config::Env& env, const char* variable, const char* relative) {
  if (auto path = env(variable)) return *path;
  auto home = env("HOME");
  return (home ? *home : std::string("/root")) + "/.aws/" + relative;
}

}  // namespace

Profile load_profile(const config::Env& env) {
  Profile profile;
  profile.name = env("AWS_PROFILE").value_or("default");
  const auto credentials_file = home_file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
  const auto config_file = home_file(env, "AWS_CONFIG_FILE", "config");
  profile.files = credentials_file + " and " + config_file;
  // The config file names profiles "[profile NAME]" (but "[default]"); the credentials file "[NAME]".
  auto take = [&](const std::string& path, const std::string& section) {
    auto text = read_file(path);
    if (!text) return;
    std::map<std::string, std::string> values;
    try {
      values = config::parse_ini(*text, path);
    } catch (const config::ConfigError& e) {
      throw credentials_refused(Stage::kSetup, e.what());
    }
    auto value = [&](const char* key) {
      auto it = values.find(section + "." + key);
      return it == values.end() ? std::string() : it->second;
    };
    for (const auto& [k, v] : values) profile.found = profile.found || k.rfind(section + ".", 0) == 0;
    if (auto v = value("aws_access_key_id"); !v.empty() && profile.access_key_id.empty()) {
      profile.access_key_id = v;
      profile.secret_access_key = value("aws_secret_access_key");
      profile.session_token = value("aws_session_token");
    }
    if (auto v = value("region"); !v.empty() && profile.region.empty()) profile.region = v;
  };
  take(credentials_file, profile.name);
  take(config_file, profile.name == "default" ? "default" : "profile " + profile.name);
  return profile;
}

std::string resolve_region(const config::Dynamo& settings, const config::Env& env) {
  if (!settings.region.empty()) return settings.region;
  if (auto region = env("AWS_REGION")) return *region;
  if (auto region = env("AWS_DEFAULT_REGION")) return *region;
  return load_profile(env).region;
}

std::string dns_suffix(const std::string& region) {
  return region.rfind("cn-", 0) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
}

std::unique_ptr<Source> resolve_source(const config::Dynamo& settings, const config::Env& env,
                                       const std::string& region, std::chrono::milliseconds timeout) {
  std::string tried;
  auto source = find_source(settings, env, region, timeout, tried);
  if (!source) throw credentials_refused(Stage::kSetup, "no AWS credentials found; tried " + tried);
  return source;
}

namespace {

using Note = std::function<void(const std::string&)>;

// Steps 1 to 3 of the chain: keys written down somewhere.
std::unique_ptr<Source> static_source(const config::Dynamo& settings, const config::Env& env, const Note& note) {
  // 1. The loader's own settings.
  if (!settings.access_key_id.empty() || !settings.secret_access_key.empty()) {
    if (settings.access_key_id.empty() || settings.secret_access_key.empty()) {
      throw credentials_refused(
          Stage::kSetup,
          "dynamodb.access_key_id (DYNAMODB_ACCESS_KEY_ID) and dynamodb.secret_access_key "
          "(DYNAMODB_SECRET_ACCESS_KEY) must be set together");
    }
    return std::make_unique<Static>("loader settings (dynamodb.access_key_id)",
                                    Credentials{settings.access_key_id, settings.secret_access_key,
                                                settings.session_token, std::nullopt, 0});
  }
  note("loader settings: dynamodb.access_key_id unset");

  // 2. The environment.
  auto key = env("AWS_ACCESS_KEY_ID");
  auto secret = env("AWS_SECRET_ACCESS_KEY");
  if (key || secret) {
    if (!key || !secret) {
      throw credentials_refused(Stage::kSetup,
                              "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
    }
    return std::make_unique<Static>(
        "environment (AWS_ACCESS_KEY_ID)",
        Credentials{*key, *secret, env("AWS_SESSION_TOKEN").value_or(""), std::nullopt, 0});
  }
  note("environment: AWS_ACCESS_KEY_ID unset");

  // 3. The shared files.
  auto profile = load_profile(env);
  if (!profile.access_key_id.empty()) {
    if (profile.secret_access_key.empty()) {
      throw credentials_refused(Stage::kSetup, "profile '" + profile.name + "' has aws_access_key_id but no " +
                                                 "aws_secret_access_key (" + profile.files + ")");
    }
    return std::make_unique<Static>("shared files (profile " + profile.name + ")",
                                    Credentials{profile.access_key_id, profile.secret_access_key,
                                                profile.session_token, std::nullopt, 0});
  }
  if (env("AWS_PROFILE") && !profile.found) {
    throw credentials_refused(Stage::kSetup, "AWS_PROFILE names profile '" + profile.name +
                                               "', which is in neither " + profile.files);
  }
  note("shared files: no keys for profile '" + profile.name + "' in " + profile.files);

  return nullptr;
}

// Steps 4 to 6: keys fetched from a service.
std::unique_ptr<Source> remote_source(const config::Env& env, const std::string& region,
                                      std::chrono::milliseconds timeout, const Note& note) {
  // 4. Web identity.
  auto token_file = env("AWS_WEB_IDENTITY_TOKEN_FILE");
  auto role_arn = env("AWS_ROLE_ARN");
  if (token_file && role_arn) {
    std::string sts = env("AWS_ENDPOINT_URL_STS")
                          .value_or(region.empty() ? "https://sts.amazonaws.com"
                                                   : "https://sts." + region + "." + dns_suffix(region));
    while (sts.size() > 8 && sts.back() == '/') sts.pop_back();
    return std::make_unique<WebIdentity>(
        *token_file, *role_arn, env("AWS_ROLE_SESSION_NAME").value_or("quiz-result-loader"), sts, timeout);
  }
  note(token_file ? "web identity: AWS_ROLE_ARN unset" : "web identity: AWS_WEB_IDENTITY_TOKEN_FILE unset");

  // 5. The container endpoint.
  std::string container_url;
  if (auto relative = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
    container_url = "http://169.254.170.2" + *relative;
  } else if (auto full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
    container_url = *full;
  }
  if (!container_url.empty()) {
    return std::make_unique<Container>(container_url, env("AWS_CONTAINER_AUTHORIZATION_TOKEN").value_or(""),
                                       env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").value_or(""), timeout);
  }
  note("container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI unset");

  // 6. The instance role, if the instance metadata service answers.
  auto disabled = env("AWS_EC2_METADATA_DISABLED");
  if (disabled && (*disabled == "true" || *disabled == "TRUE" || *disabled == "1")) {
    note("instance metadata: disabled by AWS_EC2_METADATA_DISABLED");
  } else {
    std::string endpoint = env("AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or("http://169.254.169.254");
    while (endpoint.size() > 8 && endpoint.back() == '/') endpoint.pop_back();
    auto imds =
        std::make_unique<InstanceMetadata>(endpoint, std::min(timeout, std::chrono::milliseconds(2000)));
    try {
      imds->prime(imds->fetch());
      return imds;
    } catch (const core::Error& e) {
      note(std::string("instance metadata: ") + e.what());
    }
  }
  return nullptr;
}

}  // namespace

std::unique_ptr<Source> find_source(const config::Dynamo& settings, const config::Env& env,
                                    const std::string& region, std::chrono::milliseconds timeout,
                                    std::string& tried) {
  Note note = [&](const std::string& what) { tried += (tried.empty() ? "" : "; ") + what; };
  if (auto source = static_source(settings, env, note)) return source;
  return remote_source(env, region, timeout, note);
}

std::unique_ptr<Source> placeholder_source() {
  return std::make_unique<Static>("placeholder keys for a local endpoint",
                                  Credentials{"local", "local", "", std::nullopt, 0});
}

}  // namespace qrl::credentials
