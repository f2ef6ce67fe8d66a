#pragma once
// DynamoDB's answers, classified where they are born. The class of a failure is decided by the
// error body's __type, not the HTTP status: throttling arrives as a 400.

#include <string>
#include <string_view>

#include "core/error.h"

namespace qrl::dynamodb {

// "com.amazonaws.dynamodb.v20120810#ThrottlingException" -> "ThrottlingException".
std::string error_type(std::string_view body);

// The error for a non-200 answer.
core::Error classify(long status, std::string_view body, std::string_view operation);

}  // namespace qrl::dynamodb
