# syntax=docker/dockerfile:1
# Build: a static binary (pure-Go SQLite, no cgo).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
# The Go build cache matters: compiling the transpiled SQLite takes ~30 s.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/tailhook ./cmd/tailhook \
 && mkdir -p /out/data

# Run: distroless, non-root, the database on a volume.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tailhook /usr/local/bin/tailhook
COPY --from=build --chown=nonroot:nonroot /out/data /data
USER nonroot:nonroot
ENV TAILHOOK_DB=/data/tailhook.db \
    TAILHOOK_ADDR=:8080
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/tailhook"]
CMD ["serve"]
