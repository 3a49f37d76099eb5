# builder.rego: every verified SLSA provenance must name a trusted builder.
#
# Reads input.attestations[].statement (docs/verify.md, "Policy input"): the builder id
# is predicate.builder.id in SLSA v0.2 and predicate.runDetails.builder.id in SLSA v1.
# Denies when no SLSA provenance verified at all, and once for each verified provenance
# whose builder id is missing or not in `allowed_builders`.
#
# Edit `allowed_builders` for your deployment. Tekton Chains and the hallmark controller
# write "https://tekton.dev/chains/v2" unless `builder.id` is configured.
#
#   hallmark verify IMAGE --key cosign.pub --policy config/policies/builder.rego
package hallmark.builder

allowed_builders := {"https://tekton.dev/chains/v2"}

slsa_v02 := "https://slsa.dev/provenance/v0.2"

slsa_v1 := "https://slsa.dev/provenance/v1"

builder_id(s) := s.predicate.builder.id if s.predicateType == slsa_v02

builder_id(s) := s.predicate.runDetails.builder.id if s.predicateType == slsa_v1

found(s) := id if {
	id := builder_id(s)
} else := "nothing (missing)"

provenance contains a if {
	some a in input.attestations
	a.statement.predicateType in {slsa_v02, slsa_v1}
}

deny contains "no verified SLSA provenance names a builder" if count(provenance) == 0

deny contains msg if {
	some a in provenance
	not builder_id(a.statement) in allowed_builders
	msg := sprintf("builder id %v is not one of %v", [found(a.statement), allowed_builders])
}
