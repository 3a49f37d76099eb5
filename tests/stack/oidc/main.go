// Command oidc-issuer is the local stack's static OpenID Connect issuer (tests/stack, issue 5).
//
//	oidc-issuer serve -addr HOST:PORT -issuer URL -key KEY.pem
//	    serves /.well-known/openid-configuration and the JWKS (/keys) for the RSA key in KEY.pem
//	oidc-issuer mint -issuer URL -key KEY.pem [-ttl 10m] SUBJECT [AUDIENCE]
//	    prints an ID token for SUBJECT (an email address), audience "sigstore" by default
//
// Tokens carry iss, sub, aud, iat, nbf, exp, email and email_verified=true, so Fulcio (with the
// issuer configured as Type "email") issues a certificate whose SAN is SUBJECT. Standard
// library only; test use only: anyone who can read KEY.pem can mint tokens. Tokens are RS256:
// cosign takes only RS256 tokens on its command line (--identity-token), others as a file.
package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: oidc-issuer serve|mint ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "mint":
		err = mint(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (serve or mint)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "oidc-issuer:", err)
		os.Exit(1)
	}
}

func loadKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%s: unexpected PEM block %q", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	k, ok := key.(*rsa.PrivateKey)
	if !ok || k.N.BitLen() < 2048 {
		return nil, fmt.Errorf("%s: not an RSA key of 2048 bits or more", path)
	}
	return k, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func modulusAndExponent(pub *rsa.PublicKey) (n, e string) {
	exp := big.NewInt(int64(pub.E)).Bytes()
	return b64(pub.N.Bytes()), b64(exp)
}

// keyID is the RFC 7638 thumbprint of the public key.
func keyID(pub *rsa.PublicKey) string {
	n, e := modulusAndExponent(pub)
	sum := sha256.Sum256([]byte(fmt.Sprintf(`{"e":"%s","kty":"RSA","n":"%s"}`, e, n)))
	return b64(sum[:])
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:17000", "listen address")
	issuer := fs.String("issuer", "", "issuer URL (must equal the URL clients use)")
	keyPath := fs.String("key", "", "RSA private key (PEM)")
	_ = fs.Parse(args)
	if *issuer == "" || *keyPath == "" {
		return errors.New("serve needs -issuer and -key")
	}
	key, err := loadKey(*keyPath)
	if err != nil {
		return err
	}
	iss := strings.TrimRight(*issuer, "/")
	n, e := modulusAndExponent(&key.PublicKey)
	discovery := map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              iss + "/keys",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "nbf", "email", "email_verified"},
	}
	jwks := map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "n": n, "e": e,
		"kid": keyID(&key.PublicKey), "alg": "RS256", "use": "sig",
	}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", jsonHandler(discovery))
	mux.HandleFunc("GET /keys", jsonHandler(jwks))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	srv := &http.Server{Addr: *addr, Handler: logRequests(mux), ReadHeaderTimeout: 5 * time.Second}
	log.Printf("serving issuer %s on %s", iss, *addr)
	return srv.ListenAndServe()
}

func jsonHandler(v any) http.HandlerFunc {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err)
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(body, '\n'))
	}
}

func logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s", r.Method, r.URL.Path)
		h.ServeHTTP(w, r)
	})
}

func mint(args []string) error {
	fs := flag.NewFlagSet("mint", flag.ExitOnError)
	issuer := fs.String("issuer", "", "issuer URL")
	keyPath := fs.String("key", "", "RSA private key (PEM)")
	ttl := fs.Duration("ttl", 10*time.Minute, "token lifetime")
	_ = fs.Parse(args)
	if *issuer == "" || *keyPath == "" || fs.NArg() < 1 || fs.NArg() > 2 {
		return errors.New("usage: mint -issuer URL -key KEY.pem [-ttl D] SUBJECT [AUDIENCE]")
	}
	subject, audience := fs.Arg(0), "sigstore"
	if fs.NArg() == 2 {
		audience = fs.Arg(1)
	}
	key, err := loadKey(*keyPath)
	if err != nil {
		return err
	}
	now := time.Now().Unix()
	header := map[string]string{"alg": "RS256", "typ": "JWT", "kid": keyID(&key.PublicKey)}
	claims := map[string]any{
		"iss": strings.TrimRight(*issuer, "/"), "sub": subject, "aud": audience,
		"iat": now, "nbf": now - 60, "exp": now + int64(ttl.Seconds()),
		"email": subject, "email_verified": true,
	}
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	signingInput := b64(hb) + "." + b64(cb)
	digest := sha256.Sum256([]byte(signingInput))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return err
	}
	fmt.Println(signingInput + "." + b64(sig))
	return nil
}
