// chains-controller: the Tekton Chains controller for hallmark's local test stack, built from
// the published Chains module (see go.mod). Not part of hallmark; built by
// tests/stack/lib/tools-kube.sh.
//
// It runs Chains' own TaskRun and PipelineRun reconcilers through knative's sharedmain, as
// Chains' cmd/controller does, with one difference: knative's health-probe server is off. It
// would listen on every interface at the fixed port 8080, and the stack listens on 127.0.0.1
// only, in its own port range; nothing probes a controller that runs out of cluster.
package main

import (
	"github.com/tektoncd/chains/pkg/reconciler/pipelinerun"
	"github.com/tektoncd/chains/pkg/reconciler/taskrun"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/injection/sharedmain"
	"knative.dev/pkg/signals"

	// The credential providers and KMS signers Chains' own binary links in.
	_ "github.com/sigstore/cosign/v2/pkg/providers/all"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/gcp"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)

func main() {
	// Parses the flags (--kubeconfig, ...) and builds the client configuration.
	cfg := injection.ParseAndGetRESTConfigOrDie()
	ctx := sharedmain.WithHealthProbesDisabled(signals.NewContext())
	// All namespaces; "watcher" is the component name Chains uses (its leases carry it).
	sharedmain.MainWithConfig(ctx, "watcher", cfg,
		taskrun.NewNamespacesScopedController(nil),
		pipelinerun.NewNamespacesScopedController(nil))
}
