# signer.rego: every verified attestation must come from an allowed signer.
#
# Reads input.attestations[].signer (docs/verify.md, "Policy input"):
#   {"type": "certificate", "identity": SAN, "issuer": OIDC issuer}  keyless (Fulcio)
#   {"type": "key", "keyId": HINT}                                    verified with --key
# A keyless signer is allowed when its identity matches one of `allowed_identities`
# (`identity` exact, or `identity_regex` a regular expression, anchor it with ^...$) with
# the same `issuer`. Key-signed attestations already verified with the key given on the
# command line; they are allowed while `allow_key_signed` is true.
#
# Edit `allowed_identities` for your deployment: the example is the ServiceAccount of
# the Tekton Chains (or hallmark) controller signing keylessly in-cluster.
#
#   hallmark verify IMAGE --certificate-identity-regexp . --certificate-oidc-issuer-regexp . \
#     --policy config/policies/signer.rego
package hallmark.signer

allow_key_signed := true

allowed_identities := [
	{
		"identity": "https://kubernetes.io/namespaces/tekton-chains/serviceaccounts/tekton-chains-controller",
		"issuer": "https://kubernetes.default.svc.cluster.local",
	},
	{
		"identity_regex": "^https://github\\.com/tektoncd/[^/]+/\\.github/workflows/release\\.yaml@refs/tags/v[0-9.]+$",
		"issuer": "https://token.actions.githubusercontent.com",
	},
]

identity_allowed(s) if {
	some allowed in allowed_identities
	allowed.issuer == s.issuer
	allowed.identity == s.identity
}

identity_allowed(s) if {
	some allowed in allowed_identities
	allowed.issuer == s.issuer
	is_string(s.identity)
	regex.match(allowed.identity_regex, s.identity)
}

deny contains msg if {
	some a in input.attestations
	a.signer.type == "certificate"
	not identity_allowed(a.signer)
	msg := sprintf("signer %v (issuer %v) is not allowed", [a.signer.identity, a.signer.issuer])
}

deny contains "key-signed attestations are not allowed" if {
	not allow_key_signed
	some a in input.attestations
	a.signer.type == "key"
}
