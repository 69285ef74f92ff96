package main

import (
	"crypto/tls"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	"github.com/larchkv/larch/pki"
)

// autoTLSArgs are the flags of a member with auto TLS on both ports.
func autoTLSArgs(t *testing.T, caDir string, extra ...string) []string {
	return append([]string{"--name", "m1", "--data-dir", t.TempDir(), "--auto-tls", "--peer-auto-tls", "--pki-ca-dir", caDir,
		"--listen-client-urls", "https://127.0.0.1:22379", "--advertise-client-urls", "https://127.0.0.1:22379",
		"--listen-peer-urls", "https://127.0.0.1:22380", "--initial-advertise-peer-urls", "https://127.0.0.1:22380",
		"--initial-cluster", "m1=https://127.0.0.1:22380"}, extra...)
}

// resolveAutoTLS resolves a member with auto TLS on both ports and issues
// its certificates.
func resolveAutoTLS(t *testing.T, caDir string, extra ...string) resolved {
	t.Helper()
	r, _, err := resolveArgs(t, autoTLSArgs(t, caDir, extra...), nil)
	if err != nil {
		t.Fatal(err)
	}
	stop, err := startAutoTLS(&r, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	stop()
	return r
}

// TestAutoTLSKeepsTheTLSFlags (review 7): with --auto-tls/--peer-auto-tls
// the CRL, allowed-CN and TLS version flags still hold.
func TestAutoTLSKeepsTheTLSFlags(t *testing.T) {
	caDir := writeCA(t)
	crl := filepath.Join(t.TempDir(), "x.crl")
	r := resolveAutoTLS(t, caDir, "--peer-cert-allowed-cn", "m9", "--peer-crl-file", crl,
		"--client-crl-file", crl, "--tls-min-version", "TLS1.3")
	if !slices.Equal(r.peerTLS.AllowedCNs, []string{"m9"}) || r.peerTLS.CRLFile != crl || r.clientTLS.CRLFile != crl ||
		r.peerTLS.MinVersion != tls.VersionTLS13 || r.clientTLS.MinVersion != tls.VersionTLS13 {
		t.Fatalf("auto TLS dropped flags: peer %+v client %+v", *r.peerTLS, *r.clientTLS)
	}
}

// TestAutoPeerPortRefusesClientCertificates (review 7): with
// --peer-auto-tls the peer port takes only peer certificates, not a user's
// `larchctl pki cert --profile client` from the same CA.
func TestAutoPeerPortRefusesClientCertificates(t *testing.T) {
	caDir := writeCA(t)
	r := resolveAutoTLS(t, caDir)
	srv, err := r.peerTLS.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	caCert, caKey, _ := pki.LoadCA(caDir)
	certPEM, keyPEM, err := pki.Issue(caCert, caKey, pki.CertRequest{Profile: "client", CN: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := pki.WriteCert(dir, "alice", certPEM, keyPEM, false); err != nil {
		t.Fatal(err)
	}
	cli, err := pki.TLSInfo{CertFile: filepath.Join(dir, "alice.pem"), KeyFile: filepath.Join(dir, "alice-key.pem"),
		TrustedCAFile: filepath.Join(caDir, "ca.pem")}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	errc := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		errc <- c.(*tls.Conn).Handshake()
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), cli)
	if err == nil {
		c.Close()
	}
	if err := <-errc; err == nil {
		t.Fatal("the peer port took a user's client-profile certificate (CN alice) as a member")
	}
}

// TestPeerCertAllowedCNIsAList: --peer-cert-allowed-cn takes etcd 3.6's
// comma-separated list.
func TestPeerCertAllowedCNIsAList(t *testing.T) {
	r, _, err := resolveArgs(t, autoTLSArgs(t, writeCA(t), "--peer-cert-allowed-cn", "m1, m2,,m3"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.peerTLS.AllowedCNs, []string{"m1", "m2", "m3"}) {
		t.Fatalf("allowed CNs %q", r.peerTLS.AllowedCNs)
	}
}
