// Command chains-format runs Tekton Chains' own formatter (the published Go module,
// pinned in go.mod) on a TaskRun or PipelineRun file and prints the in-toto statement
// Chains would sign. hallmark's differential test (tests/differential.rs) compares its
// output with hallmark's formatter on the same input.
//
//	chains-format -format slsa/v1|slsa/v2alpha3|slsa/v2alpha4 [-kind TaskRun|PipelineRun]
//	              [-config key=value ...] [-child FILE ...] RUN_FILE
//	chains-format -bench N [-key-dir DIR] ... RUN_FILE
//	chains-format -version
//
// -config keys are chains-config ConfigMap keys (builder.id, builddefinition.buildtype,
// artifacts.pipelinerun.enable-deep-inspection, ...), parsed by Chains' own parser with
// Chains' defaults. Input files are JSON or YAML, tekton.dev/v1 or v1beta1 (converted to
// v1 the way Tekton converts), with or without kind/apiVersion: Chains' formatter test
// fixtures carry neither and Chains' tests decode them as v1. A file may hold a
// `kind: List`; for a PipelineRun, TaskRuns in the list become its children.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	cx509 "crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/tektoncd/chains/pkg/chains/formats"
	_ "github.com/tektoncd/chains/pkg/chains/formats/all"
	"github.com/tektoncd/chains/pkg/chains/objects"
	"github.com/tektoncd/chains/pkg/chains/signing"
	"github.com/tektoncd/chains/pkg/chains/signing/x509"
	"github.com/tektoncd/chains/pkg/config"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"
	"knative.dev/pkg/logging"
	"sigs.k8s.io/yaml"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "chains-format: "+format+"\n", args...)
	os.Exit(2)
}

// doc is one decoded object: its kind and apiVersion (possibly empty) and its JSON.
type doc struct {
	kind, apiVersion string
	raw              json.RawMessage
}

// readDocs reads a JSON or YAML file holding one object or a `kind: List`.
func readDocs(path string) []doc {
	b, err := os.ReadFile(path)
	if err != nil {
		die("%v", err)
	}
	j, err := yaml.YAMLToJSON(b) // JSON is YAML: this accepts both.
	if err != nil {
		die("%s: %v", path, err)
	}
	var head struct {
		Kind       string            `json:"kind"`
		APIVersion string            `json:"apiVersion"`
		Items      []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(j, &head); err != nil {
		die("%s: %v", path, err)
	}
	if head.Kind == "List" {
		var out []doc
		for _, it := range head.Items {
			var h struct {
				Kind       string `json:"kind"`
				APIVersion string `json:"apiVersion"`
			}
			if err := json.Unmarshal(it, &h); err != nil {
				die("%s: %v", path, err)
			}
			out = append(out, doc{h.Kind, h.APIVersion, it})
		}
		return out
	}
	return []doc{{head.Kind, head.APIVersion, j}}
}

// guessKind: a run without `kind` is a PipelineRun when its spec names a pipeline.
func guessKind(d doc) string {
	var s struct {
		Spec   map[string]json.RawMessage `json:"spec"`
		Status map[string]json.RawMessage `json:"status"`
	}
	_ = json.Unmarshal(d.raw, &s)
	for _, k := range []string{"pipelineRef", "pipelineSpec"} {
		if _, ok := s.Spec[k]; ok {
			return "PipelineRun"
		}
	}
	for _, k := range []string{"pipelineSpec", "childReferences"} {
		if _, ok := s.Status[k]; ok {
			return "PipelineRun"
		}
	}
	return "TaskRun"
}

func isV1beta1(d doc) bool { return d.apiVersion == "tekton.dev/v1beta1" }

func taskRun(ctx context.Context, d doc, path string) *v1.TaskRun {
	var tr v1.TaskRun
	if isV1beta1(d) {
		var old v1beta1.TaskRun
		if err := json.Unmarshal(d.raw, &old); err != nil {
			die("%s: %v", path, err)
		}
		if err := old.ConvertTo(ctx, &tr); err != nil {
			die("%s: converting v1beta1 to v1: %v", path, err)
		}
		return &tr
	}
	if err := json.Unmarshal(d.raw, &tr); err != nil {
		die("%s: %v", path, err)
	}
	return &tr
}

func pipelineRun(ctx context.Context, d doc, path string) *v1.PipelineRun {
	var pr v1.PipelineRun
	if isV1beta1(d) {
		var old v1beta1.PipelineRun
		if err := json.Unmarshal(d.raw, &old); err != nil {
			die("%s: %v", path, err)
		}
		if err := old.ConvertTo(ctx, &pr); err != nil {
			die("%s: converting v1beta1 to v1: %v", path, err)
		}
		return &pr
	}
	if err := json.Unmarshal(d.raw, &pr); err != nil {
		die("%s: %v", path, err)
	}
	return &pr
}

// rawPayload serialises a payload the way Chains does before signing it
// (pkg/chains/signing.go getRawPayload): protojson for in-toto v1 statements
// (slsa/v2alpha*), encoding/json for everything else (slsa/v1).
func rawPayload(p any) ([]byte, error) {
	switch s := p.(type) {
	case intoto.Statement:
		return protojson.Marshal(&s)
	case *intoto.Statement:
		if s != nil {
			return protojson.Marshal(s)
		}
	}
	return json.Marshal(p)
}

// chainsVersion is the version of github.com/tektoncd/chains linked into this binary.
func chainsVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/tektoncd/chains" {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
}

func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		die("getrusage: %v", err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func main() {
	var (
		format  = flag.String("format", "slsa/v1", "Chains payload format: slsa/v1 (alias in-toto), slsa/v2alpha3, slsa/v2alpha4")
		kind    = flag.String("kind", "", "TaskRun or PipelineRun (default: the file's kind, else guessed from its spec)")
		bench   = flag.Int("bench", 0, "format and sign N times in-process, print cpu_ns_per_run")
		keyDir  = flag.String("key-dir", "", "-bench: directory with x509.pem (or cosign.key + cosign.password), read by Chains' x509 signer (default: a fresh P-256 key)")
		configs multi
		childs  multi
	)
	flag.Var(&configs, "config", "chains-config key=value (repeatable)")
	flag.Var(&childs, "child", "child TaskRun file of a PipelineRun (repeatable; may be a List)")
	showVersion := flag.Bool("version", false, "print the Chains module version this binary wraps")
	// Flags may come after RUN_FILE too: parse, take one positional argument, parse the rest.
	var positional []string
	for args := os.Args[1:]; ; {
		if err := flag.CommandLine.Parse(args); err != nil {
			os.Exit(2)
		}
		if flag.NArg() == 0 {
			break
		}
		positional = append(positional, flag.Arg(0))
		args = flag.Args()[1:]
	}
	if *showVersion {
		fmt.Println(chainsVersion())
		return
	}
	if len(positional) != 1 {
		die("usage: chains-format -format F [-kind K] [-config k=v]... [-child FILE]... [-bench N [-key-dir DIR]] RUN_FILE")
	}

	ctx := logging.WithLogger(context.Background(), zap.NewNop().Sugar())

	data := map[string]string{}
	for _, kv := range configs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			die("-config %q: want key=value", kv)
		}
		data[k] = v
	}
	cfg, err := config.NewConfigFromMap(data)
	if err != nil {
		die("config: %v", err)
	}
	ctx = config.ToContext(ctx, cfg)
	payloader, err := formats.GetPayloader(config.PayloadType(*format), *cfg)
	if err != nil {
		die("%v", err)
	}

	path := positional[0]
	docs := readDocs(path)
	top := docs[0]
	k := *kind
	if k == "" {
		k = top.kind
	}
	if k == "" {
		k = guessKind(top)
	}

	var obj any
	switch k {
	case "TaskRun":
		if len(docs) != 1 {
			die("%s: a TaskRun file holds one run", path)
		}
		obj = objects.NewTaskRunObjectV1(taskRun(ctx, top, path))
	case "PipelineRun":
		pro := objects.NewPipelineRunObjectV1(pipelineRun(ctx, top, path))
		// Children: TaskRuns after the PipelineRun in its own List, then -child files, in order.
		for _, d := range docs[1:] {
			if d.kind == "" || d.kind == "TaskRun" {
				pro.AppendTaskRun(taskRun(ctx, d, path))
			}
		}
		for _, f := range childs {
			for _, d := range readDocs(f) {
				pro.AppendTaskRun(taskRun(ctx, d, f))
			}
		}
		obj = pro
	default:
		die("unsupported kind %q", k)
	}

	if *bench <= 0 {
		p, err := payloader.CreatePayload(ctx, obj)
		if err != nil {
			die("CreatePayload: %v", err)
		}
		b, err := rawPayload(p)
		if err != nil {
			die("marshal: %v", err)
		}
		os.Stdout.Write(b)
		os.Stdout.Write([]byte("\n"))
		return
	}

	// -bench: the per-run work of Chains' ObjectSigner.Sign for one in-toto payload:
	// create the payload, serialise it, wrap the signer in DSSE, sign.
	dir := *keyDir
	if dir == "" {
		// A fresh ECDSA P-256 key, written where Chains' x509 signer looks for one.
		var err error
		if dir, err = os.MkdirTemp("", "chains-format-key"); err != nil {
			die("%v", err)
		}
		defer os.RemoveAll(dir)
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			die("%v", err)
		}
		der, err := cx509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			die("%v", err)
		}
		block := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := os.WriteFile(filepath.Join(dir, "x509.pem"), block, 0o600); err != nil {
			die("%v", err)
		}
	}
	signer, err := x509.NewSigner(ctx, dir, *cfg)
	if err != nil {
		die("signer: %v", err)
	}
	var sink int
	start := cpuNanos()
	for i := 0; i < *bench; i++ {
		p, err := payloader.CreatePayload(ctx, obj)
		if err != nil {
			die("CreatePayload: %v", err)
		}
		raw, err := rawPayload(p)
		if err != nil {
			die("marshal: %v", err)
		}
		var s signing.Signer = signer
		if payloader.Wrap() {
			if s, err = signing.Wrap(signer); err != nil {
				die("wrap: %v", err)
			}
		}
		env, err := s.SignMessage(strings.NewReader(string(raw)))
		if err != nil {
			die("sign: %v", err)
		}
		sink += len(env)
	}
	total := cpuNanos() - start
	fmt.Printf("cpu_ns_per_run=%d\n", total/int64(*bench))
	fmt.Fprintf(os.Stderr, "runs=%d envelope_bytes=%d\n", *bench, sink/(*bench))
}
