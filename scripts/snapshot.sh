#!/usr/bin/env bash
# A release snapshot of all six platforms (linux, darwin, windows × amd64, arm64), as a tag would publish it
# but without a tag or publishing, then checked: every archive is listed in checksums.txt with the right sum,
# holds the binary, README, docs, the four shell completions and the man pages, and the linux/amd64 binary
# reports its version. Output in dist/. Needs Go and the module proxy (goreleaser is run by version).
set -euo pipefail
cd "$(dirname "$0")/.."
goreleaser=github.com/goreleaser/goreleaser/v2@v2.17.0

go run "$goreleaser" release --snapshot --clean

fail() { echo "snapshot: $*" >&2; exit 1; }
cd dist
(sha256sum --check --strict checksums.txt) || fail "checksums.txt does not match the archives"
archives=$(awk '{print $2}' checksums.txt)
[ "$(echo "$archives" | wc -l)" -eq 6 ] || fail "want 6 archives in checksums.txt, got: $archives"
for os in linux darwin windows; do
  for arch in amd64 arm64; do
    a=$(echo "$archives" | grep "_${os}_${arch}\." || true)
    [ -n "$a" ] || fail "no archive for $os/$arch"
    case "$a" in
      *.zip) list=$(unzip -Z1 "$a"); bin=idpctl.exe ;;
      *) list=$(tar -tzf "$a"); bin=idpctl ;;
    esac
    for want in "$bin" README.md BENCHMARKS.md docs/architecture.md completions/idpctl.bash completions/idpctl.zsh \
      completions/idpctl.fish completions/idpctl.ps1 manpages/idpctl.1 manpages/idpctl-setup-entra.1; do
      echo "$list" | grep -qx "$want" || fail "$a lacks $want"
    done
  done
done
bin=$(find . -path '*linux_amd64*' -name idpctl -type f | head -1)
"$bin" version | grep -q '^idpctl v[0-9][^ ]*-next (commit ' || fail "the linux/amd64 binary says: $("$bin" version)"
echo "snapshot: 6 archives checked in dist/ ($("$bin" version))"
