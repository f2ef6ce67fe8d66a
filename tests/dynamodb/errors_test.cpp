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
  EXPECT_TRUE(classify(400, body("ResourceNotFoundException"), "PutItem").transient());
  EXPECT_TRUE(classify(400, body("UnrecognizedClientException"), "PutItem").transient());
  EXPECT_FALSE(classify(400, body("ValidationException"), "PutItem").transient());
  EXPECT_FALSE(classify(400, body("SerializationException"), "PutItem").transient());
}

TEST(DynamoErrors, MessageNamesOperationStatusAndType) {
  auto error = classify(400, body("ValidationException"), "PutItem");
  EXPECT_EQ(std::string(error.what()), "DynamoDB PutItem failed: HTTP 400 ValidationException: m");
  EXPECT_EQ(error_type(R"({"__type":"ThrottlingException"})"), "ThrottlingException");
  EXPECT_EQ(error_type("<html>"), "");
}

}  // namespace
}  // namespace qrl::dynamodb
