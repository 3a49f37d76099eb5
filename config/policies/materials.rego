# materials.rego: a build may only use materials from listed registries and git hosts.
#
# Reads the materials of every verified SLSA provenance (docs/verify.md, "Policy
# input"): predicate.materials[].uri in SLSA v0.2, and
# predicate.buildDefinition.resolvedDependencies[].uri in SLSA v1. Tekton Chains and
# hallmark write step images as oci://IMAGE and git sources as git+https://HOST/ORG/REPO.git.
# Denies once for each material whose URI starts with none of `allowed_prefixes`, and
# for each material without a digest (an unpinned input).
#
# Edit `allowed_prefixes` for your deployment: end a prefix with "/" so that
# "oci://gcr.io/kaniko-project/" does not also allow "oci://gcr.io/kaniko-project-evil".
#
#   hallmark verify IMAGE --key cosign.pub --policy config/policies/materials.rego
package hallmark.materials

allowed_prefixes := [
	"oci://gcr.io/kaniko-project/",
	"oci://cgr.dev/chainguard/",
	"oci://ghcr.io/tektoncd/",
	"git+https://github.com/tektoncd/",
]

materials(s) := object.get(s.predicate, "materials", []) if {
	s.predicateType == "https://slsa.dev/provenance/v0.2"
}

materials(s) := object.get(s.predicate, ["buildDefinition", "resolvedDependencies"], []) if {
	s.predicateType == "https://slsa.dev/provenance/v1"
}

allowed(uri) if {
	is_string(uri)
	some prefix in allowed_prefixes
	startswith(uri, prefix)
}

deny contains msg if {
	some a in input.attestations
	some m in materials(a.statement)
	uri := object.get(m, "uri", "")
	not allowed(uri)
	msg := sprintf("material %v is not from an allowed registry or git host", [uri])
}

pinned(m) if {
	d := object.get(m, "digest", {})
	is_object(d)
	count(d) > 0
}

deny contains msg if {
	some a in input.attestations
	some m in materials(a.statement)
	not pinned(m)
	msg := sprintf("material %v has no digest", [object.get(m, "uri", "")])
}
