// The question-set directory as the loader reads it: a file is read whole, whatever its size
// against the read's own sizes, and one over the limit is refused naming the setting.

#include "files/question_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"

namespace qrl::files {
namespace {

class QuestionFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("qrl-question-files-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

TEST_F(QuestionFilesTest, AFileIsReadWholeAtEverySize) {
  QuestionFiles files(dir_, std::size_t{1} << 20);
  std::mt19937 random(7);
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{2136}, std::size_t{65535}, std::size_t{65536},
                           std::size_t{65537}, std::size_t{200000}}) {
    std::string text(size, ' ');
    for (auto& c : text) c = static_cast<char>('a' + random() % 26);
    const core::QuizId id("q" + std::to_string(size));
    files.write(id, text);
    EXPECT_EQ(files.read(id), std::optional<std::string>(text)) << size;
  }
  EXPECT_EQ(files.read(core::QuizId("absent")), std::nullopt);
}

TEST_F(QuestionFilesTest, AFileOverTheLimitIsRefusedNamingTheSetting) {
  QuestionFiles files(dir_, 100);
  files.write(core::QuizId("exact"), std::string(100, 'x'));
  EXPECT_EQ(files.read(core::QuizId("exact"))->size(), 100u);
  files.write(core::QuizId("over"), std::string(101, 'x'));
  try {
    files.read(core::QuizId("over"));
    ADD_FAILURE() << "a file over the limit was read";
  } catch (const core::Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("101 bytes, over the limit of 100 (question-set.max_bytes)"));
  }
}

}  // namespace
}  // namespace qrl::files
