# shellcheck shell=bash
# Tools of the stack's part 2 (issue 5), for tests/stack/install: Fulcio, the CT log
# (TesseraCT posix), Rekor v2 (rekor-tiles posix), the timestamp authority, tuftool and the
# static OIDC issuer. Each is built once per version into $HALLMARK_CACHE/tools/NAME/VERSION.

# tool_sigstore NAME : prints the path of tool NAME, or returns 1 when NAME is not ours.
tool_sigstore() {
  case $1 in
    fulcio) go_tool fulcio "$FULCIO_MODULE" "$FULCIO_VERSION" CGO_ENABLED=0 ;;
    # Both of these binaries are called "posix": go_tool gives each its own directory.
    tesseract) go_tool tesseract "$TESSERACT_MODULE" "$TESSERACT_VERSION" CGO_ENABLED=0 ;;
    rekor-tiles) go_tool rekor-tiles "$REKOR_TILES_MODULE" "$REKOR_TILES_VERSION" CGO_ENABLED=0 ;;
    # Upstream's timestamp-server binds metrics on the hard-wired :2112, which Rekor v1 holds:
    # tests/stack/tsa runs the same server from the published packages without it.
    timestamp-server)
      grep -q "github.com/sigstore/timestamp-authority/v2 $TSA_VERSION\$" "$HALLMARK_ROOT/tests/stack/tsa/go.mod" \
        || die "tests/stack/tsa/go.mod must require timestamp-authority $TSA_VERSION (tests/stack/versions)"
      go_local_tool timestamp-server "$HALLMARK_ROOT/tests/stack/tsa" ;;
    # The stack needs tuftool to be built quickly, not to run quickly: no optimisation.
    tuftool)
      local root="$HALLMARK_CACHE/tools/tuftool/$TUFTOOL_VERSION-O0"
      cached "$root" "tuftool $TUFTOOL_VERSION (opt-level 0)" _sigstore_cargo_install_o0 tuftool "$TUFTOOL_VERSION" "$root"
      printf '%s\n' "$root/bin/tuftool" ;;
    oidc-issuer) go_local_tool oidc-issuer "$HALLMARK_ROOT/tests/stack/oidc" ;;
    *) return 1 ;;
  esac
}

_sigstore_cargo_install_o0() {
  (
    export CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_LTO=false
    _cargo_install "$@"
  )
}
