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

TEST(DynamoErrors, MessageNamesOperationStatusAndType) {
  auto error = classify(400, body("ValidationException"), "PutItem");
  EXPECT_EQ(std::string(error.what()), "DynamoDB PutItem failed: HTTP 400 ValidationException: m");
  EXPECT_EQ(error_type(R"({"__type":"ThrottlingException"})"), "ThrottlingException");
  EXPECT_EQ(error_type("<html>"), "");
}

}  // namespace
}  // namespace qrl::dynamodb
