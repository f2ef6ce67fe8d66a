#include "credentials/credentials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"
#include "credentials/sources.h"
#include "wiring/aws.h"

namespace qrl::credentials {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;

config::Env env_of(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

Clock::time_point at(std::int64_t epoch) {
  return Clock::time_point(seconds(epoch));
}

TEST(Expiration, ParsesTheFormsTheCredentialEndpointsSend) {
  EXPECT_EQ(parse_expiration("2026-11-28T15:04:05Z"), at(1795878245));
  EXPECT_EQ(parse_expiration("2026-11-28T15:04:05.123Z"), at(1795878245));
  EXPECT_EQ(parse_expiration("2026-11-28T15:04:05+00:00"), at(1795878245));
  EXPECT_EQ(parse_expiration("1970-01-01T00:00:00Z"), at(0));
  EXPECT_EQ(parse_expiration("2024-02-29T00:00:00Z"), at(1709164800));
  for (const char* bad :
       {"", "2026-11-28", "2026-11-28T15:04:05", "2026-11-28T15:04:05+01:00", "2026-13-28T15:04:05Z",
        "2026-11-28T25:04:05Z", "2026-11-28T15:04:05.Z", "2026-11-28 15:04:05Z", "x026-11-28T15:04:05Z"}) {
    EXPECT_FALSE(parse_expiration(bad)) << bad;
  }
}

TEST(Refresh, FiveMinutesAheadOrHalfwayThroughAShortLife) {
  EXPECT_EQ(refresh_time(at(0), at(3600)), at(3300));
  EXPECT_EQ(refresh_time(at(0), at(600)), at(300));
  EXPECT_EQ(refresh_time(at(0), at(8)), at(4));
  EXPECT_EQ(stale_time(at(0), at(3600)), at(3590));
  EXPECT_EQ(stale_time(at(0), at(8)), at(6));
}

// A source whose every fetch issues keys "K<n>" valid for `lifetime` from the simulated clock.
class Counting final : public Source {
 public:
  Counting(core::ManualClock& clock, Clock::duration lifetime) : clock_(clock), lifetime_(lifetime) {}
  std::string name() const override { return "counting"; }
  Credentials fetch() override {
    if (fail) throw core::transient_error(core::Stage::kSetup, "endpoint down");
    ++fetches;
    return {"K" + std::to_string(fetches.load()), "secret", "token",
            std::chrono::time_point_cast<Clock::duration>(clock_.wall()) + lifetime_, 0};
  }
  std::atomic<int> fetches{0};
  std::atomic<bool> fail{false};

 private:
  core::ManualClock& clock_;
  Clock::duration lifetime_;
};

TEST(Provider, ExpiredCredentialsAreFetchedAgainAndAFailingSourceIsTheEnvironment) {
  core::ManualClock clock;
  auto source = std::make_unique<Counting>(clock, minutes(60));
  auto* counting = source.get();
  Provider provider(std::move(source), clock);
  EXPECT_EQ(provider.current()->access_key_id, "K1");
  clock.advance(seconds(3600 - 5));  // inside the last 10 s: stale for signing
  EXPECT_EQ(provider.current()->access_key_id, "K2");
  counting->fail = true;
  clock.advance(seconds(3600));
  try {
    provider.current();
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::FailureKind::kEnvironment);
    EXPECT_THAT(e.what(), HasSubstr("endpoint down"));
  }
}

TEST(Provider, ARejectionRefreshesOnceForAllThreads) {
  core::ManualClock clock;
  auto source = std::make_unique<Counting>(clock, minutes(60));
  auto* counting = source.get();
  Provider provider(std::move(source), clock);
  auto seen = provider.current()->generation;
  provider.refresh_after_rejection(seen);
  provider.refresh_after_rejection(seen);  // a second thread with the same old keys
  EXPECT_EQ(counting->fetches, 2);
  EXPECT_EQ(provider.current()->access_key_id, "K2");
}

// A 2 s lifetime is refreshed halfway through, by the provider's own thread, so current() never
// has to wait: exactly at 1 s, 2 s, 3 s... of simulated time, and not a millisecond before.
TEST(Provider, TheBackgroundThreadRefreshesOnSchedule) {
  core::ManualClock clock;
  auto source = std::make_unique<Counting>(clock, seconds(2));
  auto* counting = source.get();
  Provider provider(std::move(source), clock);
  auto fetches_become = [&](int n) {
    for (int i = 0; i < 2000 && counting->fetches < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return counting->fetches.load();
  };
  for (int n = 2; n <= 4; ++n) {
    clock.advance(std::chrono::milliseconds(999));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the thread had its chance
    EXPECT_EQ(counting->fetches, n - 1) << "refreshed early, before fetch " << n;
    clock.advance(std::chrono::milliseconds(1));
    EXPECT_EQ(fetches_become(n), n) << "not refreshed on time";
    EXPECT_EQ(provider.current()->access_key_id, "K" + std::to_string(n));
  }
}

class Files : public ::testing::Test {
 protected:
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("qrl-aws-" + std::to_string(::getpid()));
  void SetUp() override { std::filesystem::create_directories(dir / ".aws"); }
  void TearDown() override { std::filesystem::remove_all(dir); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir / ".aws" / name) << text; }
  std::string home() const { return dir.string(); }
};

std::string name_of(const config::Dynamo& settings, const config::Env& env) {
  return resolve_source(settings, env, "us-east-1", std::chrono::milliseconds(500))->name();
}

TEST_F(Files, TheChainTakesTheFirstSourceInTheSdkOrder) {
  write("credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n");
  config::Dynamo explicit_keys;
  explicit_keys.access_key_id = "A";
  explicit_keys.secret_access_key = "S";
  std::map<std::string, std::string> env = {{"HOME", home()},
                                            {"AWS_ACCESS_KEY_ID", "ENVKEY"},
                                            {"AWS_SECRET_ACCESS_KEY", "envsecret"},
                                            {"AWS_WEB_IDENTITY_TOKEN_FILE", "/t"},
                                            {"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"},
                                            {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/c"},
                                            {"AWS_EC2_METADATA_DISABLED", "true"}};
  EXPECT_THAT(name_of(explicit_keys, env_of(env)), HasSubstr("loader settings"));
  EXPECT_THAT(name_of({}, env_of(env)), HasSubstr("environment"));
  env.erase("AWS_ACCESS_KEY_ID");
  env.erase("AWS_SECRET_ACCESS_KEY");
  EXPECT_THAT(name_of({}, env_of(env)), HasSubstr("shared files (profile default)"));
  std::filesystem::remove(dir / ".aws" / "credentials");
  EXPECT_THAT(name_of({}, env_of(env)), HasSubstr("web identity"));
  env.erase("AWS_WEB_IDENTITY_TOKEN_FILE");
  EXPECT_THAT(name_of({}, env_of(env)), HasSubstr("container endpoint (http://127.0.0.1:1/c)"));
  env.erase("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  try {
    name_of({}, env_of(env));
    FAIL();
  } catch (const core::Error& e) {
    EXPECT_EQ(e.kind(), core::FailureKind::kEnvironment);
    for (const char* tried : {"loader settings", "AWS_ACCESS_KEY_ID unset", "shared files", "web identity",
                              "container", "instance metadata: disabled"}) {
      EXPECT_THAT(e.what(), HasSubstr(tried));
    }
  }
}

TEST_F(Files, ProfilesComeFromBothFilesAndAnUnknownOneIsAnError) {
  write("credentials", "[ci]\naws_access_key_id = CIKEY\naws_secret_access_key = cisecret\n");
  write("config", "[profile ci]\nregion = eu-central-1\n[default]\nregion = us-west-2\n");
  auto env = env_of({{"HOME", home()}, {"AWS_PROFILE", "ci"}, {"AWS_EC2_METADATA_DISABLED", "true"}});
  auto profile = load_profile(env);
  EXPECT_EQ(profile.access_key_id, "CIKEY");
  EXPECT_EQ(profile.region, "eu-central-1");
  EXPECT_EQ(resolve_region({}, env), "eu-central-1");
  EXPECT_EQ(resolve_region({}, env_of({{"HOME", home()}})), "us-west-2");
  auto source = resolve_source({}, env, "eu-central-1", std::chrono::milliseconds(500));
  EXPECT_EQ(source->fetch().access_key_id, "CIKEY");
  EXPECT_THROW(resolve_source({}, env_of({{"HOME", home()}, {"AWS_PROFILE", "nope"}}), "",
                              std::chrono::milliseconds(500)),
               core::Error);
}

TEST(Region, SettingThenAwsRegionThenDefaultRegion) {
  config::Dynamo settings;
  auto env =
      env_of({{"AWS_REGION", "eu-west-1"}, {"AWS_DEFAULT_REGION", "ap-south-1"}, {"HOME", "/nonexistent"}});
  EXPECT_EQ(resolve_region(settings, env), "eu-west-1");
  EXPECT_EQ(
      resolve_region(settings, env_of({{"AWS_DEFAULT_REGION", "ap-south-1"}, {"HOME", "/nonexistent"}})),
      "ap-south-1");
  settings.region = "us-east-2";
  EXPECT_EQ(resolve_region(settings, env), "us-east-2");
  EXPECT_EQ(dns_suffix("cn-north-1"), "amazonaws.com.cn");
  EXPECT_EQ(dns_suffix("us-east-1"), "amazonaws.com");
}

TEST(Wiring, ChinaRegionsGetTheirOwnDomainAndNoRegionIsAConfigError) {
  config::Config config;
  config.dynamo.access_key_id = "A";
  config.dynamo.secret_access_key = "S";
  auto env = env_of({{"AWS_REGION", "cn-north-1"}, {"HOME", "/nonexistent"}});
  auto provider = wiring::resolve_aws(config, env);
  EXPECT_EQ(config.dynamo.endpoint_url, "https://dynamodb.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(provider->source_name(), "loader settings (dynamodb.access_key_id)");
  config::Config no_region;
  EXPECT_THROW(wiring::resolve_aws(no_region, env_of({{"HOME", "/nonexistent"}})), config::ConfigError);
}

// The platform's compose service points the replaced loader at DynamoDB Local over plain http
// and sets no region and no keys (its image's config.ini had placeholders).
TEST(Wiring, APlainHttpEndpointGetsARegionAndPlaceholderKeysWhenNoneAreFound) {
  config::Config config;
  config.dynamo.endpoint_url = "http://quiz-result-store:8000";
  auto provider =
      wiring::resolve_aws(config, env_of({{"HOME", "/nonexistent"}, {"AWS_EC2_METADATA_DISABLED", "true"}}));
  EXPECT_EQ(config.dynamo.region, "us-east-1");
  EXPECT_EQ(config.dynamo.endpoint_url, "http://quiz-result-store:8000");
  EXPECT_EQ(provider->source_name(), "placeholder keys for a local endpoint");
  EXPECT_EQ(provider->current()->access_key_id, "local");

  // Whatever is set still wins.
  config::Config given;
  given.dynamo.endpoint_url = "http://localhost:8000";
  auto env = env_of({{"HOME", "/nonexistent"}, {"AWS_REGION", "eu-west-1"},
                     {"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "envsecret"}});
  auto from_env = wiring::resolve_aws(given, env);
  EXPECT_EQ(given.dynamo.region, "eu-west-1");
  EXPECT_EQ(from_env->source_name(), "environment (AWS_ACCESS_KEY_ID)");

  // Half a key pair is still an error, local or not.
  config::Config half;
  half.dynamo.endpoint_url = "http://localhost:8000";
  EXPECT_THROW(wiring::resolve_aws(half, env_of({{"HOME", "/nonexistent"}, {"AWS_ACCESS_KEY_ID", "A"}})),
               core::Error);

  // Lambda runs in AWS: no defaults there, whatever the endpoint.
  config::Config lambda;
  lambda.dynamo.endpoint_url = "http://localhost:8000";
  lambda.dynamo.local_defaults = false;
  EXPECT_THROW(wiring::resolve_aws(lambda, env_of({{"HOME", "/nonexistent"}})), config::ConfigError);
}

// Nothing of this applies to AWS: an https endpoint, or none, still needs a region and keys.
TEST(Wiring, AnHttpsEndpointGetsNoPlaceholders) {
  config::Config config;
  config.dynamo.endpoint_url = "https://dynamodb.eu-west-1.amazonaws.com";
  EXPECT_THROW(wiring::resolve_aws(config, env_of({{"HOME", "/nonexistent"}})), config::ConfigError);
  config::Config no_keys;
  no_keys.dynamo.region = "eu-west-1";
  try {
    wiring::resolve_aws(no_keys, env_of({{"HOME", "/nonexistent"}, {"AWS_EC2_METADATA_DISABLED", "true"}}));
    FAIL() << "placeholder keys were used for AWS";
  } catch (const core::Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("no AWS credentials found"));
  }
}

TEST(Chain, HalfAKeyPairIsAnError) {
  config::Dynamo settings;
  settings.access_key_id = "A";
  EXPECT_THROW(resolve_source(settings, env_of({}), "us-east-1", std::chrono::milliseconds(500)),
               core::Error);
  EXPECT_THROW(
      resolve_source({}, env_of({{"AWS_ACCESS_KEY_ID", "A"}}), "us-east-1", std::chrono::milliseconds(500)),
      core::Error);
}

}  // namespace
}  // namespace qrl::credentials
