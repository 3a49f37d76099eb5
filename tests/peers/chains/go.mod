// chains-format: a wrapper around Tekton Chains' published formatter, for hallmark's
// differential test. Not part of hallmark; built by tests/peers/chains/build.
module hallmark.test/chains-format

go 1.26.4

require github.com/tektoncd/chains v0.29.2

// Chains' own replace directives at v0.29.2 (replace is not inherited from dependencies).
replace (
	github.com/alibabacloud-go/cr-20160607 => github.com/vdemeester/cr-20160607 v1.0.1
	github.com/golang/glog => github.com/jdolitsky/glog v0.0.0-20220729172235-78744e90d087
)
