#include "core/dynamo_size.h"

#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "core/error.h"
#include "support/dynamo_size.h"

namespace qrl::core::dynamo {
namespace {

TEST(DynamoSize, NumbersByTheirBase100Digits) {
  EXPECT_EQ(number_size("0"), 1u);
  EXPECT_EQ(number_size("-0.000"), 1u);
  EXPECT_EQ(number_size("1"), 2u);
  EXPECT_EQ(number_size("12"), 2u);  // one pair, odd exponent
  EXPECT_EQ(number_size("123"), 3u);
  EXPECT_EQ(number_size("120"), 3u);   // two digits starting at an even exponent straddle
  EXPECT_EQ(number_size("12E1"), 3u);  // the same number
  EXPECT_EQ(number_size("100"), 2u);   // trailing zeros are not stored
  EXPECT_EQ(number_size("1E+3"), 2u);
  EXPECT_EQ(number_size("12.34"), 3u);
  EXPECT_EQ(number_size("0.12"), 2u);
  EXPECT_EQ(number_size("0.012"), 3u);
  EXPECT_EQ(number_size("-5"), 3u);
  EXPECT_EQ(number_size(std::int64_t{-5}), 3u);
  EXPECT_THROW(number_size("1x"), core::Error);
  EXPECT_THROW(number_size(""), core::Error);
  EXPECT_THROW(number_size("1E"), core::Error);
}

TEST(DynamoSize, IntegersAgreeWithTheTestsOwnCount) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    auto value = static_cast<std::int64_t>(rng()) >> (rng() % 64);
    const auto text = std::to_string(value);
    ASSERT_EQ(number_size(value), testing::dynamo_number_size(text)) << text;
    ASSERT_EQ(number_size(text), number_size(value)) << text;
  }
  // The ends and the round numbers, which the random values rarely hit.
  for (std::int64_t value :
       {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(), std::int64_t{0},
        std::int64_t{-1}, std::int64_t{10}, std::int64_t{-100}, std::int64_t{1'000'000'000'000'000'000},
        std::int64_t{1'200'000'000}}) {
    const auto text = std::to_string(value);
    EXPECT_EQ(number_size(value), testing::dynamo_number_size(text)) << text;
  }
}

// DynamoDB counts UTF-8 bytes (dynalite counts UTF-16 units: fewer, so it is not the judge here).
TEST(DynamoSize, StringsAreUtf8Bytes) {
  EXPECT_EQ(string_size("abc"), 3u);
  EXPECT_EQ(string_size("\xc3\xa9"), 2u);          // é
  EXPECT_EQ(string_size("\xf0\x9f\x98\x80"), 4u);  // an emoji: 2 UTF-16 units, 4 bytes
  EXPECT_EQ(string_size("\xff"), 3u);              // not UTF-8: sent as U+FFFD
  EXPECT_EQ(item_size(nlohmann::json{{"\xc3\xa9", {{"S", "\xc3\xa9"}}}}), 4u);
}

TEST(DynamoSize, ContainersAndNesting) {
  auto item =
      nlohmann::json::parse(R"({"a":{"L":[{"N":"1"},{"S":"xy"},{"M":{"k":{"BOOL":true},"n":{"NULL":true}}}]},
                                        "ss":{"SS":["a","bc"]},"ns":{"NS":["1","123"]}})");
  // a: 1 + (3 + (1+2) + (1+2) + (1 + 3 + 2 + (1+1) + (1+1))) = 20, ss: 2 + 3, ns: 2 + 2 + 3
  EXPECT_EQ(item_size(item), 20u + 5 + 7);
  EXPECT_THROW(item_size(nlohmann::json::parse(R"({"a":{"X":"1"}})")), core::Error);
}

}  // namespace
}  // namespace qrl::core::dynamo
