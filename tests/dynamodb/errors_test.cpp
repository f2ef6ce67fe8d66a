#include "dynamodb/errors.h"

#include <gtest/gtest.h>

namespace qrl::dynamodb {
namespace {

std::string body(const std::string& type) {
  return R"({"__type":"com.amazonaws.dynamodb.v20120810#)" + type + R"(","message":"m"})";
}

TEST(DynamoErrors, ClassifiesByTypeNotStatus) {
  EXPECT_TRUE(classify(400, body("ThrottlingException"), "PutItem").transient());
  EXPECT_TRUE(classify(400, body("ProvisionedThroughputExceededException"), "PutItem").transient());
  EXPECT_TRUE(classify(400, body("RequestLimitExceeded"), "PutItem").transient());
  EXPECT_TRUE(classify(500, body("InternalServerError"), "PutItem").transient());
  EXPECT_TRUE(classify(503, "", "PutItem").transient());
  EXPECT_EQ(classify(400, body("ValidationException"), "PutItem").kind(), core::FailureKind::kPermanent);
  EXPECT_EQ(classify(400, body("SerializationException"), "PutItem").kind(), core::FailureKind::kPermanent);
}

TEST(DynamoErrors, WhatNoRetryCanFixIsTheEnvironment) {
  for (const char* type : {"AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException",
                           "InvalidSignatureException", "IncompleteSignatureException",
                           "MissingAuthenticationTokenException", "ResourceNotFoundException"}) {
    EXPECT_EQ(classify(400, body(type), "PutItem").kind(), core::FailureKind::kEnvironment) << type;
  }
  EXPECT_EQ(classify(403, "<html>forbidden</html>", "PutItem").kind(), core::FailureKind::kEnvironment);
}

// The callers tell answers apart by these codes, never by the message.
TEST(DynamoErrors, EachTypeCarriesItsCode) {
  using core::Code;
  EXPECT_EQ(classify(400, body("ProvisionedThroughputExceededException"), "PutItem").code(), Code::kThrottled);
  EXPECT_EQ(classify(400, body("ThrottlingException"), "PutItem").code(), Code::kThrottled);
  EXPECT_EQ(classify(400, body("ConditionalCheckFailedException"), "UpdateItem").code(), Code::kConditionFailed);
  EXPECT_EQ(classify(400, body("ResourceNotFoundException"), "PutItem").code(), Code::kTableMissing);
  EXPECT_EQ(classify(400, body("ResourceInUseException"), "CreateTable").code(), Code::kTableInUse);
  EXPECT_TRUE(classify(400, body("ResourceInUseException"), "CreateTable").transient());
  EXPECT_EQ(classify(400, body("ExpiredTokenException"), "PutItem").code(), Code::kExpiredToken);
  EXPECT_EQ(classify(400, body("AccessDeniedException"), "PutItem").code(), Code::kAwsAccessDenied);
  EXPECT_EQ(classify(403, "", "PutItem").code(), Code::kAwsAccessDenied);
  EXPECT_EQ(classify(400, body("UnrecognizedClientException"), "PutItem").code(), Code::kAwsCredentials);
  // A message that merely mentions a type is not that type.
  auto worded = classify(400, R"({"__type":"x#ValidationException","message":"not a ThrottlingException"})",
                         "PutItem");
  EXPECT_EQ(worded.code(), Code::kNone);
  EXPECT_EQ(worded.kind(), core::FailureKind::kPermanent);
  // A permanent type in a 5xx is the server's trouble.
  EXPECT_TRUE(classify(500, body("ValidationException"), "PutItem").transient());
}

TEST(DynamoErrors, MessageNamesOperationStatusAndType) {
  auto error = classify(400, body("ValidationException"), "PutItem");
  EXPECT_EQ(std::string(error.what()), "DynamoDB PutItem failed: HTTP 400 ValidationException: m");
  EXPECT_EQ(error_type(R"({"__type":"ThrottlingException"})"), "ThrottlingException");
  EXPECT_EQ(error_type("<html>"), "");
}

}  // namespace
}  // namespace qrl::dynamodb
