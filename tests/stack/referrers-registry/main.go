// referrers-registry: an OCI registry with the referrers API, for the local test stack.
//
// It serves go-containerregistry's pkg/registry (blobs on disk, referrers API enabled) and
// adds what the stack needs on top of it:
//   - manifests survive a restart: every accepted manifest PUT and DELETE is appended to a
//     journal in the data directory and replayed at start;
//   - a PUT of a manifest with a subject answers with the OCI-Subject header;
//   - the referrers index carries each referrer's artifactType (the manifest's own field,
//     else its config media type) and annotations, honours ?artifactType= (with
//     OCI-Filters-Applied), and is an empty index, not a 404, for an unknown repository.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/registry"
)

type record struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	ContentType string `json:"content_type,omitempty"`
	Body        []byte `json:"body,omitempty"`
}

type server struct {
	inner   http.Handler
	mu      sync.Mutex
	journal *os.File
}

// pathKind splits /v2/<repo>/<kind>/<ref> and returns kind, repo and ref.
func pathKind(p string) (kind, repo, ref string) {
	elems := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if len(elems) < 4 || elems[0] != "v2" {
		return "", "", ""
	}
	n := len(elems)
	return elems[n-2], strings.Join(elems[1:n-2], "/"), elems[n-1]
}

func (s *server) record(r record) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.journal.Write(append(line, '\n')); err != nil {
		return err
	}
	return s.journal.Sync()
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (s *server) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	kind, repo, ref := pathKind(req.URL.Path)
	switch {
	case kind == "manifests" && req.Method == http.MethodPut:
		var body bytes.Buffer
		if _, err := body.ReadFrom(req.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		inner := req.Clone(req.Context())
		inner.Body = ioNopCloser(body.Bytes())
		rec := httptest.NewRecorder()
		s.inner.ServeHTTP(rec, inner)
		if rec.Code == http.StatusCreated {
			if err := s.record(record{Method: http.MethodPut, Path: req.URL.Path,
				ContentType: req.Header.Get("Content-Type"), Body: body.Bytes()}); err != nil {
				http.Error(w, "journal: "+err.Error(), http.StatusInternalServerError)
				return
			}
			var m struct {
				Subject *struct {
					Digest string `json:"digest"`
				} `json:"subject"`
			}
			if json.Unmarshal(body.Bytes(), &m) == nil && m.Subject != nil {
				rec.Header().Set("OCI-Subject", m.Subject.Digest)
			}
		}
		copyResponse(w, rec)
	case kind == "manifests" && req.Method == http.MethodDelete:
		rec := httptest.NewRecorder()
		s.inner.ServeHTTP(rec, req)
		if rec.Code == http.StatusAccepted {
			if err := s.record(record{Method: http.MethodDelete, Path: req.URL.Path}); err != nil {
				http.Error(w, "journal: "+err.Error(), http.StatusInternalServerError)
				return
			}
		}
		copyResponse(w, rec)
	case kind == "referrers" && (req.Method == http.MethodGet || req.Method == http.MethodHead):
		s.referrers(w, req, repo, ref)
	default:
		s.inner.ServeHTTP(w, req)
	}
}

type descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

type index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

func (s *server) referrers(w http.ResponseWriter, req *http.Request, repo, subject string) {
	get := httptest.NewRequest(http.MethodGet, "/v2/"+repo+"/referrers/"+subject, nil)
	rec := httptest.NewRecorder()
	s.inner.ServeHTTP(rec, get)
	out := index{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json", Manifests: []descriptor{}}
	switch rec.Code {
	case http.StatusOK:
		var in index
		if err := json.Unmarshal(rec.Body.Bytes(), &in); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out.Manifests = s.describe(repo, in.Manifests)
	case http.StatusNotFound:
		// An unknown repository has no referrers: answer an empty index.
	default:
		copyResponse(w, rec)
		return
	}
	if want := req.URL.Query().Get("artifactType"); want != "" {
		kept := []descriptor{}
		for _, d := range out.Manifests {
			if d.ArtifactType == want {
				kept = append(kept, d)
			}
		}
		out.Manifests = kept
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	body, _ := json.Marshal(out)
	w.Header().Set("Content-Type", out.MediaType)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// describe fills in each referrer's artifactType and annotations from its manifest.
func (s *server) describe(repo string, in []descriptor) []descriptor {
	out := make([]descriptor, 0, len(in))
	for _, d := range in {
		rec := httptest.NewRecorder()
		s.inner.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v2/"+repo+"/manifests/"+d.Digest, nil))
		if rec.Code != http.StatusOK {
			continue
		}
		var m struct {
			ArtifactType string `json:"artifactType"`
			Config       struct {
				MediaType string `json:"mediaType"`
			} `json:"config"`
			Annotations map[string]string `json:"annotations"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err == nil {
			d.ArtifactType = m.ArtifactType
			if d.ArtifactType == "" {
				d.ArtifactType = m.Config.MediaType
			}
			d.Annotations = m.Annotations
		}
		out = append(out, d)
	}
	return out
}

// replay feeds the journal back through the registry after a restart.
func (s *server) replay(path string) (int, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			// A torn last line (a crash mid-write) is dropped.
			log.Printf("journal: skipping unreadable record: %v", err)
			continue
		}
		req := httptest.NewRequest(r.Method, r.Path, bytes.NewReader(r.Body))
		if r.ContentType != "" {
			req.Header.Set("Content-Type", r.ContentType)
		}
		rec := httptest.NewRecorder()
		s.inner.ServeHTTP(rec, req)
		n++
	}
	return n, sc.Err()
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func ioNopCloser(b []byte) nopCloser { return nopCloser{bytes.NewReader(b)} }

func main() {
	addr := flag.String("addr", "127.0.0.1:5001", "address to listen on")
	dir := flag.String("dir", "", "data directory (blobs and the manifest journal)")
	flag.Parse()
	if *dir == "" {
		log.Fatal("-dir is required")
	}
	if err := os.MkdirAll(filepath.Join(*dir, "blobs"), 0o755); err != nil {
		log.Fatal(err)
	}
	s := &server{inner: registry.New(
		registry.WithBlobHandler(registry.NewDiskBlobHandler(filepath.Join(*dir, "blobs"))),
		registry.WithReferrersSupport(true),
	)}
	journalPath := filepath.Join(*dir, "manifests.journal")
	n, err := s.replay(journalPath)
	if err != nil {
		log.Fatalf("journal replay: %v", err)
	}
	log.Printf("replayed %d manifest operations from %s", n, journalPath)
	if s.journal, err = os.OpenFile(journalPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("serving on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, s))
}
