#pragma once
// The one error type of the loader. Every failure is classified where it is born: the code
// that sees a timeout knows it is transient, the code that sees a missing key knows the
// message can never succeed. The class travels with the error, and exactly one function
// (core::decide in retry.h) turns it into what happens to the message. Beside the class, a code
// says what the failure is, for the remedy an operator reads and for the callers that must tell
// one answer from another (a conditional check that failed, a table that is absent): it is set
// where the failure is first understood (DynamoDB's __type, a Redis error prefix, the TLS verify
// result, an errno), and nothing reads a failure's message to learn what it is.

#include <stdexcept>
#include <string>
#include <string_view>

namespace qrl::core {

enum class FailureKind {
  kTransient,    // try again later: connection lost, timeout, throttling, 5xx
  kPermanent,    // the message can never succeed: bad event, invalid id, bad quiz data
  kEnvironment,  // the deployment is wrong (credentials rejected, permission denied, table
                 // missing, Redis authentication refused): no message can succeed until an
                 // operator fixes it, and retrying one message will not help
};

// Where in the pipeline a failure happened, reported with dead letters and in logs.
enum class Stage { kUnknown, kParse, kValidate, kRead, kBuild, kWrite, kDelete, kSetup };

// What a failure is, where more is known than its class. kNone: nothing beyond the class.
enum class Code {
  kNone,
  // transient
  kConnectionLost,    // a connection that was open timed out, or failed otherwise
  kConnectionClosed,  // a connection that was open was closed or reset by the peer (a restart,
                      // CLIENT KILL, an idle timeout): worth one more try on a new one
  kThrottled,       // DynamoDB: ProvisionedThroughputExceeded, Throttling, RequestLimitExceeded
  kTableInUse,      // DynamoDB: ResourceInUseException (a table being created or deleted)
  kFinishing,       // a leaderboard member has every answer but no stop time yet (core/roster.h)
  // permanent
  kConditionFailed,  // DynamoDB: ConditionalCheckFailedException
  // environment
  kAwsAccessDenied,         // AWS: AccessDenied(Exception): the role lacks an action
  kTableMissing,            // DynamoDB: ResourceNotFoundException, or absent with create_table off
  kAwsCredentials,          // AWS refused the keys (signature, unknown, expired) or none were found
  kExpiredToken,            // AWS: ExpiredTokenException (a kind of kAwsCredentials: refresh once)
  kRedisLogin,              // Redis: NOAUTH, WRONGPASS, NOPERM, or AUTH refused
  kRedisDatabase,           // Redis: SELECT refused, or a database other than 0 on a cluster
  kRabbitLogin,             // RabbitMQ: login refused
  kRabbitVhost,             // RabbitMQ: access to the vhost refused
  kRabbitQueue,             // RabbitMQ: a queue declaration refused (406: its arguments differ)
  kTlsCertificate,          // a certificate failed verification, or a CA, certificate or key file is unusable
  kTlsHandshake,            // the handshake failed for another reason (TLS on one side only?)
  kQuestionSetPermission,   // the question-set directory or a file in it: EACCES, EPERM, EROFS
  kConfig,                  // a setting missing or invalid (config::ConfigError): bad usage, exit 2
  // permanent
  kNotABatch,  // a Lambda invocation that is not an SQS batch
};

// Why quiz data is bad. kMissing is set only when a source simply is not there (a key or the
// question file): that is the state a quiz is left in once it has been loaded and deleted, so
// the pipeline checks for an existing item before calling it a failure.
enum class DataProblem { kNone, kMissing, kInvalid };

class Error : public std::runtime_error {
 public:
  Error(FailureKind kind, Stage stage, const std::string& message, std::string key = {},
        DataProblem problem = DataProblem::kNone, Code code = Code::kNone);

  FailureKind kind() const noexcept { return kind_; }
  Stage stage() const noexcept { return stage_; }
  const std::string& key() const noexcept { return key_; }
  DataProblem problem() const noexcept { return problem_; }
  Code code() const noexcept { return code_; }
  bool transient() const noexcept { return kind_ == FailureKind::kTransient; }
  bool environment() const noexcept { return kind_ == FailureKind::kEnvironment; }

  // A stage-less error picks up the stage of the pipeline step it escaped from.
  void set_stage_if_unknown(Stage stage) noexcept {
    if (stage_ == Stage::kUnknown) stage_ = stage;
  }

 private:
  FailureKind kind_;
  Stage stage_;
  std::string key_;
  DataProblem problem_;
  Code code_;
};

Error transient_error(Stage stage, const std::string& message, Code code = Code::kNone);
Error environment_error(Stage stage, const std::string& message, Code code = Code::kNone);
Error invalid_data(Stage stage, const std::string& message, std::string key = {});
Error missing_data(const std::string& message, std::string key);

std::string_view to_string(FailureKind kind);
std::string_view to_string(Stage stage);

}  // namespace qrl::core
