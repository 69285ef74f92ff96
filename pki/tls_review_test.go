package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"

	"github.com/larchkv/larch/pki/pkitest"
)

// TestPeerDialVerifiesTheIPItDials (review 7): a member dialing a peer by
// IP address (the usual peer URL) checks that the peer's certificate is
// for that address (crypto/tls sends no SNI for an IP, so a check on the
// handshake's server name alone checked none).
func TestPeerDialVerifiesTheIPItDials(t *testing.T) {
	dir := t.TempDir()
	ca := pkitest.NewCA(t, "ca")
	caFile := ca.WriteCA(t, dir, "ca")
	// The server's certificate is for another member's address only.
	srvCert, srvKey, _ := ca.Issue(t, dir, "m2", pkitest.Leaf{CN: "m2", Hosts: []string{"10.9.9.9", "m2.example"}})
	server, err := TLSInfo{CertFile: srvCert, KeyFile: srvKey}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	dial, err := TLSInfo{TrustedCAFile: caFile}.Dialer(&net.Dialer{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := dial(context.Background(), "tcp", l.Addr().String())
	if err == nil {
		c.Close()
		t.Fatal("dialing 127.0.0.1 took a certificate for 10.9.9.9/m2.example only")
	}
}

// TestRevokedCertificateCannotResume (review 7): a client whose
// certificate is revoked after its first connection cannot get back in by
// resuming its TLS session (crypto/tls skips VerifyPeerCertificate on a
// resumption; the checks run in VerifyConnection).
func TestRevokedCertificateCannotResume(t *testing.T) {
	recheckEvery = 0
	t.Cleanup(func() { recheckEvery = defaultRecheck })
	dir := t.TempDir()
	ca := pkitest.NewCA(t, "ca")
	caFile := ca.WriteCA(t, dir, "ca")
	srvCert, srvKey, _ := ca.Issue(t, dir, "server", pkitest.Leaf{CN: "server"})
	crl := ca.WriteCRL(t, dir, "ca")
	server, err := TLSInfo{CertFile: srvCert, KeyFile: srvKey, TrustedCAFile: caFile, ClientCertAuth: true, CRLFile: crl}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	cert, key, leaf := ca.Issue(t, dir, "alice", pkitest.Leaf{CN: "alice", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	client, err := TLSInfo{CertFile: cert, KeyFile: key, TrustedCAFile: caFile}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	client.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	if err := handshake(t, server, client); err != nil {
		t.Fatal(err)
	}
	ca.WriteCRL(t, dir, "ca", leaf.SerialNumber)
	// Without the session cache the revoked certificate is refused...
	fresh := client.Clone()
	fresh.ClientSessionCache = nil
	if err := handshake(t, server, fresh); err == nil {
		t.Fatal("revoked certificate taken on a full handshake")
	}
	// ...but a resumed session is taken.
	if err := handshake(t, server, client); err == nil {
		t.Fatal("a revoked client certificate was let in by resuming a session")
	}
}
