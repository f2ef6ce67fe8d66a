# `cmake --build build --target lambda-zip` -> build/quiz-result-loader-lambda.zip, a function
# for the provided.al2023 (x86_64) runtime: `bootstrap` (this binary, which runs `lambda` when
# started under that name) and, in lib/, every shared library it loads, glibc's dynamic loader
# included. Amazon Linux 2023 has an older glibc than Debian bookworm and none of our
# libraries, so nothing may come from the host: bootstrap names /var/task/lib/ld-linux as its
# interpreter and /var/task/lib as its RPATH (Lambda unpacks the zip at /var/task; $ORIGIN would
# need /proc to resolve; RPATH rather than RUNPATH also covers the libraries' own dependencies).
add_executable(bootstrap EXCLUDE_FROM_ALL src/cli/main.cpp)
target_link_libraries(bootstrap PRIVATE qrl CLI11::CLI11)
target_link_options(bootstrap PRIVATE
  "LINKER:--dynamic-linker=/var/task/lib/ld-linux-x86-64.so.2"
  "LINKER:--disable-new-dtags")
set_target_properties(bootstrap PROPERTIES
  BUILD_RPATH "/var/task/lib"
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/lambda")

set(QRL_LAMBDA_ZIP "${CMAKE_BINARY_DIR}/quiz-result-loader-lambda.zip")
add_custom_command(
  OUTPUT "${QRL_LAMBDA_ZIP}"
  COMMAND "${CMAKE_SOURCE_DIR}/cmake/package-lambda.sh" "$<TARGET_FILE:bootstrap>" "${QRL_LAMBDA_ZIP}"
  DEPENDS bootstrap "${CMAKE_SOURCE_DIR}/cmake/package-lambda.sh"
  COMMENT "Packaging ${QRL_LAMBDA_ZIP}"
  VERBATIM)
add_custom_target(lambda-zip DEPENDS "${QRL_LAMBDA_ZIP}")
