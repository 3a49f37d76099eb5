# age.rego: the build must have finished at most `max_age_days` days before verification.
#
# Reads the finish time of every verified SLSA provenance (docs/verify.md, "Policy
# input"): predicate.metadata.buildFinishedOn in SLSA v0.2 and
# predicate.runDetails.metadata.finishedOn in SLSA v1, and compares it with input.now
# (the verification time, RFC 3339) rather than time.now_ns(), so a replay decides the
# same. Denies when no verified provenance finished recently enough (a missing finish
# time counts as too old), which rejects a rollback to an old build. A finish time in
# the future (beyond `max_skew_seconds`) is denied too.
#
# Like `--max-age`, but in policy: edit `max_age_days`.
#
#   hallmark verify IMAGE --key cosign.pub --policy config/policies/age.rego
package hallmark.age

max_age_days := 30

max_skew_seconds := 300

day_ns := ((24 * 60) * 60) * 1000000000

# A finish time that is not a string (null) counts as missing.
finished(s) := t if {
	s.predicateType == "https://slsa.dev/provenance/v0.2"
	t := s.predicate.metadata.buildFinishedOn
	is_string(t)
}

finished(s) := t if {
	s.predicateType == "https://slsa.dev/provenance/v1"
	t := s.predicate.runDetails.metadata.finishedOn
	is_string(t)
}

age_ns(s) := time.parse_rfc3339_ns(input.now) - time.parse_rfc3339_ns(finished(s))

recent contains a if {
	some a in input.attestations
	age := age_ns(a.statement)
	age <= max_age_days * day_ns
	age >= (0 - max_skew_seconds) * 1000000000
}

deny contains msg if {
	count(recent) == 0
	msg := sprintf("no verified provenance finished within %d days of %s", [max_age_days, input.now])
}
