#include "core/ids.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"

namespace qrl::core {
namespace {

TEST(Ids, AcceptsOneToSixtyFourOfTheAllowedCharacters) {
  EXPECT_TRUE(is_valid_id("a"));
  EXPECT_TRUE(is_valid_id("4b927076"));
  EXPECT_TRUE(is_valid_id("AZaz09_-"));
  EXPECT_TRUE(is_valid_id(std::string(64, 'f')));
}

TEST(Ids, RejectsEverythingElse) {
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_FALSE(is_valid_id(std::string(65, 'f')));
  for (std::string bad : {"*", "?", "[a]", "a:b", "../x", "a/b", "a.b", "a b", "a\nb", "é", "a\\b"}) {
    EXPECT_FALSE(is_valid_id(bad)) << bad;
  }
  EXPECT_FALSE(is_valid_id(std::string("a\0b", 3)));
}

TEST(Ids, RequireNamesWhatAndTheValue) {
  try {
    require_valid_id("a*", "user id");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), FailureKind::kPermanent);
    EXPECT_EQ(std::string(e.what()), "invalid user id 'a*': expected 1 to 64 characters of [A-Za-z0-9_-]");
  }
}

TEST(Ids, AQuizIdIsMadeOnlyOfAValidId) {
  const QuizId id("4b927076");
  EXPECT_EQ(id, "4b927076");
  EXPECT_EQ(id.str(), "4b927076");
  EXPECT_EQ(std::string_view(id), "4b927076");
  for (const std::string& bad : std::vector<std::string>{"", "q*", "../q", "q:1", std::string(65, 'f')}) {
    try {
      QuizId{bad};
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), FailureKind::kPermanent) << bad;
      EXPECT_EQ(e.stage(), Stage::kValidate) << bad;
      EXPECT_NE(std::string(e.what()).find("invalid quiz id"), std::string::npos) << e.what();
    }
  }
}

TEST(Ids, PrintableEscapesControlCharactersAndBoundsLength) {
  EXPECT_EQ(printable("a\nb'"), "'a\\x0ab\\x27'");
  EXPECT_EQ(printable(std::string(100, 'x')).size(), 80u + 2u + 3u);
}

}  // namespace
}  // namespace qrl::core
