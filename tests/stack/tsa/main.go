// Command timestamp-server runs the Sigstore timestamp authority
// (github.com/sigstore/timestamp-authority/v2, the version pinned in go.mod) for the local stack.
//
// Upstream's cmd/timestamp-server always serves Prometheus metrics on the hard-wired address
// :2112, which Rekor v1 (also hard-wired to :2112) already holds in the stack, and the TSA
// exits when it cannot bind it. This wrapper starts the same REST API server from the
// published packages, without the metrics listener:
//
//	timestamp-server -host 127.0.0.1 -port PORT -key KEY.pem -chain CHAIN.pem
//
// KEY.pem is the file signer's key, CHAIN.pem its certificate chain (leaf with the critical
// timeStamping EKU first, root last).
package main

import (
	"flag"
	"time"

	"github.com/sigstore/timestamp-authority/v2/pkg/log"
	"github.com/sigstore/timestamp-authority/v2/pkg/server"
	"github.com/spf13/viper"
)

func main() {
	host := flag.String("host", "127.0.0.1", "listen address")
	port := flag.Int("port", 0, "listen port")
	key := flag.String("key", "", "file signer key (PEM)")
	chain := flag.String("chain", "", "certificate chain of the signer (PEM, leaf first)")
	flag.Parse()

	// The settings upstream's serve command reads through viper, with its defaults.
	viper.Set("timestamp-signer", "file")
	viper.Set("timestamp-signer-hash", "sha256")
	viper.Set("file-signer-key-path", *key)
	viper.Set("certificate-chain-path", *chain)
	viper.Set("enforce-intermediate-eku", true)
	viper.Set("include-chain-in-response", false)
	viper.Set("default-policy-oid", "1.3.6.1.4.1.57264.2")
	viper.Set("accepted-policy-oids", []string{"1.3.6.1.4.1.57264.2"})
	viper.Set("max-request-body-size", uint64(1<<20))

	log.ConfigureLogger("prod")
	if *port == 0 || *key == "" || *chain == "" {
		log.Logger.Fatal("usage: timestamp-server -host H -port P -key KEY.pem -chain CHAIN.pem")
	}
	srv := server.NewRestAPIServer(*host, *port, []string{"http"}, false, 10*time.Second, 10*time.Second)
	srv.CleanupTimeout = 5 * time.Second
	defer func() { _ = srv.Shutdown() }()
	if err := srv.Serve(); err != nil {
		log.Logger.Fatal(err)
	}
}
