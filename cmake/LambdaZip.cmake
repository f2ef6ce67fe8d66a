# `cmake --build build --target lambda-zip` -> build/quiz-result-loader-lambda.zip, a function
# for the provided.al2023 runtime (x86_64 or arm64, as built): `bootstrap` (this binary, which runs `lambda` when
# started under that name) and, in lib/, every shared library it loads, glibc's dynamic loader
# included. Amazon Linux 2023 has an older glibc than Debian bookworm and none of our
# libraries, so nothing may come from the host: bootstrap names /var/task/lib/ld-linux as its
# interpreter and /var/task/lib as its RPATH (Lambda unpacks the zip at /var/task; $ORIGIN would
# need /proc to resolve; RPATH rather than RUNPATH also covers the libraries' own dependencies).
# The dynamic loader is named after the architecture (glibc's names on Debian).
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(QRL_LOADER_NAME ld-linux-x86-64.so.2)
  set(QRL_HOST_LOADER /lib64/ld-linux-x86-64.so.2)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  set(QRL_LOADER_NAME ld-linux-aarch64.so.1)
  set(QRL_HOST_LOADER /lib/ld-linux-aarch64.so.1)
else()
  message(FATAL_ERROR "The Lambda bundle is made for x86_64 and arm64 (aarch64) only; this build is for "
                      "'${CMAKE_SYSTEM_PROCESSOR}'. Build the loader alone with -DQRL_BUNDLE=OFF.")
endif()
add_executable(bootstrap EXCLUDE_FROM_ALL)
target_link_libraries(bootstrap PRIVATE qrl_cli)
target_link_options(bootstrap PRIVATE
  "LINKER:--dynamic-linker=/var/task/lib/${QRL_LOADER_NAME}"
  "LINKER:--disable-new-dtags")
set_target_properties(bootstrap PROPERTIES
  BUILD_RPATH "/var/task/lib"
  RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/lambda")

set(QRL_LAMBDA_ZIP "${CMAKE_BINARY_DIR}/quiz-result-loader-lambda.zip")
add_custom_command(
  OUTPUT "${QRL_LAMBDA_ZIP}"
  COMMAND "${CMAKE_SOURCE_DIR}/cmake/package-lambda.sh" "$<TARGET_FILE:bootstrap>" "${QRL_LAMBDA_ZIP}"
          "${QRL_HOST_LOADER}"
  DEPENDS bootstrap "${CMAKE_SOURCE_DIR}/cmake/package-lambda.sh"
  COMMENT "Packaging ${QRL_LAMBDA_ZIP}"
  VERBATIM)
add_custom_target(lambda-zip DEPENDS "${QRL_LAMBDA_ZIP}")
