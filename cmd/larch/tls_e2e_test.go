package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/larchkv/larch/pki"
)

// writeCA makes a CA with the pki package (what `larchctl pki ca init`
// runs) and returns its directory.
func writeCA(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	certPEM, keyPEM, err := pki.InitCA(pki.CARequest{CN: "test CA"})
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteCA(dir, certPEM, keyPEM, false); err != nil {
		t.Fatal(err)
	}
	return dir
}

// issue writes a certificate of the CA in caDir and returns its files.
func issue(t *testing.T, caDir, profile, cn string, hosts ...string) (cert, key string) {
	t.Helper()
	caCert, caKey, err := pki.LoadCA(caDir)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := pki.Issue(caCert, caKey, pki.CertRequest{Profile: profile, CN: cn, Hosts: hosts})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := pki.WriteCert(dir, cn, certPEM, keyPEM, false); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, cn+".pem"), filepath.Join(dir, cn+"-key.pem")
}

// checkCluster checks the processes form one three-member cluster that
// takes writes through each.
func checkCluster(t *testing.T, ps []*process) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, p := range ps {
		c := p.newClient()
		ml, err := c.MemberList(ctx)
		if err == nil && len(ml.Members) != len(ps) {
			err = fmt.Errorf("%d members", len(ml.Members))
		}
		if err == nil {
			_, err = c.Put(ctx, fmt.Sprintf("k%d", i), "v")
		}
		c.Close()
		if err != nil {
			t.Fatalf("member %d: %v", i+1, err)
		}
	}
}

// TestAutoTLSCluster: three members started with --auto-tls,
// --peer-auto-tls and --pki-ca-dir issue themselves certificates from the
// CA and form a cluster over verified mTLS; a client verifies them with
// the CA's certificate; restarted, a member keeps its certificates.
// (cluster/clustertest's TestPeerMutualTLS shows a member with another
// CA's certificate refused.)
func TestAutoTLSCluster(t *testing.T) {
	caDir := writeCA(t)
	ps := newClusterProcessesWith(t, 3, "t", "https", func(int) []string {
		return []string{"--auto-tls", "--peer-auto-tls", "--pki-ca-dir", caDir}
	})
	clientTLS, err := pki.TLSInfo{TrustedCAFile: filepath.Join(caDir, "ca.pem")}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		p.tls = clientTLS
	}
	startAll(t, ps)
	checkCluster(t, ps)
	for _, p := range ps {
		for _, side := range []string{"client", "peer"} {
			if _, err := os.Stat(filepath.Join(p.dataDir, "fixtures", side, "cert-key.pem")); err != nil {
				t.Fatalf("no %s certificate in the data dir: %v", side, err)
			}
		}
	}

	// Restarted, a member keeps its certificates and rejoins.
	ps[0].terminate()
	if err := ps[0].launch(); err != nil {
		t.Fatal(err)
	}
	ps[0].waitReady()
	checkCluster(t, ps)
}

// TestTLSClusterFromFiles: members started with certificate files from
// the pki package (server and peer profiles) and --client-cert-auth serve
// a client holding a client certificate, and refuse one without.
func TestTLSClusterFromFiles(t *testing.T) {
	caDir := writeCA(t)
	caFile := filepath.Join(caDir, "ca.pem")
	ps := newClusterProcessesWith(t, 3, "t", "https", func(i int) []string {
		name := fmt.Sprintf("t%d", i+1)
		srvCert, srvKey := issue(t, caDir, "server", name, "127.0.0.1", "localhost")
		peerCert, peerKey := issue(t, caDir, "peer", name+"-peer", "127.0.0.1", "localhost")
		return []string{"--cert-file", srvCert, "--key-file", srvKey, "--trusted-ca-file", caFile, "--client-cert-auth",
			"--peer-cert-file", peerCert, "--peer-key-file", peerKey, "--peer-trusted-ca-file", caFile, "--peer-client-cert-auth"}
	})
	cert, key := issue(t, caDir, "client", "client")
	withCert, err := pki.TLSInfo{CertFile: cert, KeyFile: key, TrustedCAFile: caFile}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		p.tls = withCert
	}
	startAll(t, ps)
	checkCluster(t, ps)

	without, err := pki.TLSInfo{TrustedCAFile: caFile}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	bare := &process{t: t, client: ps[0].client, tls: without}
	c := bare.newClient()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := c.Get(ctx, "k0"); err == nil {
		t.Fatal("a client without a certificate was served under --client-cert-auth")
	}
}

// TestPeerCertificatesWithHTTPPeerURLs: as in etcd, the peer URL's scheme
// decides TLS. Members given peer certificates but http:// peer URLs
// listen and dial in plain text, and form a cluster.
func TestPeerCertificatesWithHTTPPeerURLs(t *testing.T) {
	caDir := writeCA(t)
	caFile := filepath.Join(caDir, "ca.pem")
	ps := newClusterProcessesWith(t, 3, "h", "http", func(i int) []string {
		peerCert, peerKey := issue(t, caDir, "peer", fmt.Sprintf("h%d-peer", i+1), "127.0.0.1")
		return []string{"--peer-cert-file", peerCert, "--peer-key-file", peerKey, "--peer-trusted-ca-file", caFile, "--peer-client-cert-auth"}
	})
	startAll(t, ps)
	checkCluster(t, ps)
}
