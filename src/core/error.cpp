#include "core/error.h"

#include <utility>

namespace qrl::core {

Error::Error(FailureKind kind, Stage stage, const std::string& message, std::string key, DataProblem problem,
             Code code)
    : std::runtime_error(message),
      kind_(kind),
      stage_(stage),
      key_(std::move(key)),
      problem_(problem),
      code_(code) {}

Error transient_error(Stage stage, const std::string& message, Code code) {
  return Error(FailureKind::kTransient, stage, message, {}, DataProblem::kNone, code);
}

Error environment_error(Stage stage, const std::string& message, Code code) {
  return Error(FailureKind::kEnvironment, stage, message, {}, DataProblem::kNone, code);
}

Error invalid_data(Stage stage, const std::string& message, std::string key) {
  return Error(FailureKind::kPermanent, stage, message, std::move(key), DataProblem::kInvalid);
}

Error missing_data(const std::string& message, std::string key) {
  return Error(FailureKind::kPermanent, Stage::kRead, message, std::move(key), DataProblem::kMissing);
}

std::string_view to_string(FailureKind kind) {
  switch (kind) {
    case FailureKind::kTransient: return "transient";
    case FailureKind::kPermanent: return "permanent";
    case FailureKind::kEnvironment: return "environment";
  }
  return "unknown";
}

std::string_view to_string(Stage stage) {
  switch (stage) {
    case Stage::kParse: return "parse";
    case Stage::kValidate: return "validate";
    case Stage::kRead: return "read";
    case Stage::kBuild: return "build";
    case Stage::kWrite: return "write";
    case Stage::kDelete: return "delete";
    case Stage::kSetup: return "setup";
    case Stage::kUnknown: break;
  }
  return "unknown";
}

}  // namespace qrl::core
