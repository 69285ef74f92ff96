package pki

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"testing"

	"github.com/larchkv/larch/pki/pkitest"
)

// handshake dials a TLS listener served with server and reports whether
// a full handshake (and one byte echoed) succeeded.
func handshake(t *testing.T, server, client *tls.Config) error {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b := make([]byte, 1)
		if _, err := io.ReadFull(c, b); err == nil {
			c.Write(b)
		}
	}()
	defer func() { <-done }()
	c, err := tls.Dial("tcp", l.Addr().String(), client)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte{1}); err != nil {
		return err
	}
	_, err = io.ReadFull(c, make([]byte, 1))
	return err
}

// TestHandshakeMatrix: a server with client certificate auth takes only a
// valid client certificate from its CA; so does one given only a trusted CA.
func TestHandshakeMatrix(t *testing.T) {
	dir := t.TempDir()
	ca, other := pkitest.NewCA(t, "ca"), pkitest.NewCA(t, "other-ca")
	caFile := ca.WriteCA(t, dir, "ca")
	srvCert, srvKey, _ := ca.Issue(t, dir, "server", pkitest.Leaf{CN: "server", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	_, _, revokedCert := ca.Issue(t, dir, "revoked", pkitest.Leaf{CN: "revoked", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	crl := ca.WriteCRL(t, dir, "ca", revokedCert.SerialNumber)

	server, err := TLSInfo{CertFile: srvCert, KeyFile: srvKey, TrustedCAFile: caFile, ClientCertAuth: true, CRLFile: crl}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	client := func(name string, issuer *pkitest.CA, leaf pkitest.Leaf) *tls.Config {
		info := TLSInfo{TrustedCAFile: caFile}
		if issuer != nil {
			info.CertFile, info.KeyFile, _ = issuer.Issue(t, dir, name, leaf)
		}
		c, err := info.ClientConfig()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	clientAuth := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	revoked := TLSInfo{TrustedCAFile: caFile, CertFile: dir + "/revoked.pem", KeyFile: dir + "/revoked-key.pem"}
	revokedCfg, err := revoked.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		client *tls.Config
		ok     bool
	}{
		{"no certificate", client("none", nil, pkitest.Leaf{}), false},
		{"another CA's", client("foreign", other, pkitest.Leaf{CN: "foreign", Usages: clientAuth}), false},
		{"expired", client("expired", ca, pkitest.Leaf{CN: "expired", Usages: clientAuth, Expired: true}), false},
		{"server usage only", client("serveronly", ca, pkitest.Leaf{CN: "serveronly", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}), false},
		{"revoked", revokedCfg, false},
		{"valid", client("valid", ca, pkitest.Leaf{CN: "valid", Usages: clientAuth}), true},
	} {
		if err := handshake(t, server, c.client); (err == nil) != c.ok {
			t.Errorf("%s: handshake error %v, want success %v", c.name, err, c.ok)
		}
	}

	// Without client certificate auth a client needs no certificate;
	// a client refuses a server whose certificate another CA signed.
	open, err := TLSInfo{CertFile: srvCert, KeyFile: srvKey}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, open, client("none2", nil, pkitest.Leaf{})); err != nil {
		t.Errorf("no client certificate, none required: %v", err)
	}
	// etcd's rule: a trusted CA alone (no ClientCertAuth) still requires
	// and verifies a client certificate.
	caOnly, err := TLSInfo{CertFile: srvCert, KeyFile: srvKey, TrustedCAFile: caFile}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, caOnly, client("none4", nil, pkitest.Leaf{})); err == nil {
		t.Error("a trusted CA file without client cert auth let a client in without a certificate")
	}
	if err := handshake(t, caOnly, client("valid2", ca, pkitest.Leaf{CN: "valid2", Usages: clientAuth})); err != nil {
		t.Errorf("a trusted CA file without client cert auth refused a valid certificate: %v", err)
	}
	fCert, fKey, _ := other.Issue(t, dir, "foreign-server", pkitest.Leaf{CN: "fs", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	foreign, err := TLSInfo{CertFile: fCert, KeyFile: fKey}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, foreign, client("none3", nil, pkitest.Leaf{})); err == nil {
		t.Error("a client took a server certificate from another CA")
	}
}

// TestAllowedCNAndHostname: a peer's certificate must carry the allowed CN
// or be valid for the allowed host name.
func TestAllowedCNAndHostname(t *testing.T) {
	dir := t.TempDir()
	ca := pkitest.NewCA(t, "ca")
	caFile := ca.WriteCA(t, dir, "ca")
	srvCert, srvKey, _ := ca.Issue(t, dir, "server", pkitest.Leaf{CN: "m1"})
	peer := func(name string, hosts ...string) *tls.Config {
		cert, key, _ := ca.Issue(t, dir, name, pkitest.Leaf{CN: name, Hosts: hosts})
		c, err := TLSInfo{CertFile: cert, KeyFile: key, TrustedCAFile: caFile}.ClientConfig()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	byCN, _ := TLSInfo{CertFile: srvCert, KeyFile: srvKey, TrustedCAFile: caFile, ClientCertAuth: true, AllowedCNs: []string{"m1", "m2"}}.ServerConfig()
	byHost, _ := TLSInfo{CertFile: srvCert, KeyFile: srvKey, TrustedCAFile: caFile, ClientCertAuth: true, AllowedHostnames: []string{"other.invalid", "peer.example"}}.ServerConfig()
	if _, err := (TLSInfo{CertFile: srvCert, KeyFile: srvKey, TrustedCAFile: caFile, AllowedCNs: []string{"m2"}, AllowedHostnames: []string{"h"}}).ServerConfig(); err == nil {
		t.Error("allowed CNs and hostnames both taken (etcd: mutually exclusive)")
	}
	if err := handshake(t, byCN, peer("m2")); err != nil {
		t.Errorf("allowed CN refused: %v", err)
	}
	if err := handshake(t, byCN, peer("m3")); err == nil {
		t.Error("another CN taken")
	}
	if err := handshake(t, byHost, peer("h1", "127.0.0.1", "peer.example")); err != nil {
		t.Errorf("allowed host refused: %v", err)
	}
	if err := handshake(t, byHost, peer("h2", "127.0.0.1", "other.example")); err == nil {
		t.Error("a certificate for another host taken")
	}
}

// TestRotationOnDisk: a certificate replaced on disk is what the next
// handshake uses, with no new configuration.
func TestRotationOnDisk(t *testing.T) {
	recheckEvery = 0
	t.Cleanup(func() { recheckEvery = defaultRecheck })
	dir := t.TempDir()
	ca := pkitest.NewCA(t, "ca")
	caFile := ca.WriteCA(t, dir, "ca")
	srvCert, srvKey, _ := ca.Issue(t, dir, "server", pkitest.Leaf{CN: "first"})
	server, err := TLSInfo{CertFile: srvCert, KeyFile: srvKey}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	// A client configuration as a dial makes it: from the CA file as it is.
	client := func() *tls.Config {
		c, err := TLSInfo{TrustedCAFile: caFile}.ClientConfig()
		if err != nil {
			t.Fatal(err)
		}
		c.ServerName = "127.0.0.1"
		c.VerifyConnection = func(next func(tls.ConnectionState) error) func(tls.ConnectionState) error {
			return func(cs tls.ConnectionState) error {
				seen = append(seen, cs.PeerCertificates[0].Subject.CommonName)
				return next(cs)
			}
		}(c.VerifyConnection)
		return c
	}
	if err := handshake(t, server, client()); err != nil {
		t.Fatal(err)
	}
	ca.Issue(t, dir, "server", pkitest.Leaf{CN: "second"})
	// A CA rotated on the client side too: the new CA's certificate is
	// trusted once the CA file names it.
	newCA := pkitest.NewCA(t, "ca2")
	if err := handshake(t, server, client()); err != nil {
		t.Fatal(err)
	}
	newCA.Issue(t, dir, "server", pkitest.Leaf{CN: "third"})
	if err := handshake(t, server, client()); err == nil {
		t.Fatal("a certificate from a CA not yet trusted was taken")
	}
	newCA.WriteCA(t, dir, "ca")
	if err := handshake(t, server, client()); err != nil {
		t.Fatal(err)
	}
	// The refused handshake never reaches VerifyConnection: crypto/tls
	// refuses the chain first.
	if want := []string{"first", "second", "third"}; len(seen) != 3 || seen[0] != want[0] || seen[1] != want[1] || seen[2] != want[2] {
		t.Fatalf("server certificates seen %v, want %v", seen, want)
	}
}
