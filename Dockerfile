# The container mode as an OCI image. Compiled on Debian bookworm; run from scratch with only the
# self-contained bundle the Lambda zip is made of (the binary, the shared libraries it loads and
# glibc's dynamic loader, under /var/task) and the CA bundle. x86_64 and arm64.
#
#   docker build -t quiz-result-loader .        (or: scripts/image.sh build)
#   docker run --env-file loader.env -p 9100:9100 -v question-sets:/data/question-sets quiz-result-loader
#
# Every setting comes from the environment (docs/configuration.md). `serve` is the default
# command; the others run as `docker run ... quiz-result-loader seed|load|list|show|check|dlq ...`.

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config binutils zip unzip ca-certificates \
      libhiredis-dev librabbitmq-dev libcurl4-openssl-dev libssl-dev zlib1g-dev \
      prometheus-cpp-dev libcivetweb-dev nlohmann-json3-dev libcli11-dev libjemalloc-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY src/ src/
RUN cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release -DQRL_BUILD_TESTS=OFF -DQRL_BUILD_BENCH=OFF \
 && cmake --build build -j"$(nproc)" --target lambda-zip
# The root of the final image: the bundle, the CA bundle, a user, and the two writable places.
RUN mkdir -p /out/var/task /out/etc/ssl/certs /out/tmp /out/data/question-sets \
 && unzip -q build/quiz-result-loader-lambda.zip -d /out/var/task \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \
 && echo 'loader:x:10001:10001:quiz-result-loader:/nonexistent:/nonexistent' > /out/etc/passwd \
 && echo 'loader:x:10001:' > /out/etc/group \
 && chown 10001:10001 /out/data/question-sets \
 && chmod 1777 /out/tmp

# The image's root: the build stage's /out. scripts/image-test.sh --from-build (the test
# command's way) gives it instead as --build-context root=DIR, the same bundle laid out from a
# release build's Lambda zip, rather than compile everything a third time; podman (buildah) then
# builds neither this stage nor the one above.
FROM build AS root

FROM scratch
COPY --from=root /out/ /
ENV QUESTION_SET_PATH=/data/question-sets \
    LOADER_METRICS_PORT=9100
USER 10001:10001
EXPOSE 9100
VOLUME /data/question-sets
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/var/task/bootstrap", "probe"]
ENTRYPOINT ["/var/task/bootstrap"]
CMD ["serve"]
