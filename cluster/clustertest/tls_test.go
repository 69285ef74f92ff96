package clustertest

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/larchkv/larch/pki"
	"github.com/larchkv/larch/pki/pkitest"
)

// peerPKI issues every member a peer certificate (server and client
// usage, CN the member's name) from one CA, or from another for the
// names in foreign.
type peerPKI struct {
	t       *testing.T
	dir     string
	ca      *pkitest.CA
	caFile  string
	foreign map[string]*pkitest.CA
}

func newPeerPKI(t *testing.T) *peerPKI {
	p := &peerPKI{t: t, dir: t.TempDir(), ca: pkitest.NewCA(t, "peer-ca"), foreign: map[string]*pkitest.CA{}}
	p.caFile = p.ca.WriteCA(t, p.dir, "ca")
	return p
}

func (p *peerPKI) info(name string) pki.TLSInfo {
	issuer := p.ca
	if f, ok := p.foreign[name]; ok {
		issuer = f
	}
	cert, key, _ := issuer.Issue(p.t, p.dir, name, pkitest.Leaf{CN: name})
	return pki.TLSInfo{CertFile: cert, KeyFile: key, TrustedCAFile: p.caFile, ClientCertAuth: true}
}

// peerHandshake dials m's peer port with cfg and reports the handshake's
// error, and the serial of the certificate the member presented.
func peerHandshake(m *Member, cfg *tls.Config) (string, error) {
	cfg = cfg.Clone()
	cfg.ServerName = "127.0.0.1"
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", strings.TrimPrefix(m.PeerURL, "https://"), cfg)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	// With TLS 1.3 a refused client certificate shows at the first read.
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("GET /members HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		return "", err
	}
	buf := make([]byte, 12)
	if _, err := conn.Read(buf); err != nil {
		return "", err
	}
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}

// TestPeerMutualTLS: three members form a cluster over verified mTLS; the
// peer port takes only a valid peer certificate from the cluster's CA; a
// member holding another CA's certificate cannot join; a certificate
// rotated on disk is what new connections get, without a restart.
func TestPeerMutualTLS(t *testing.T) {
	p := newPeerPKI(t)
	p.foreign["m4"] = pkitest.NewCA(t, "intruder-ca")
	c := New(t, Config{Size: 3, PeerTLS: p.info})
	leader := c.WaitLeader()
	if _, err := c.Client().Put(ctxT(t, 10*time.Second), "k", "over mTLS"); err != nil {
		t.Fatal(err)
	}

	client := func(name string, issuer *pkitest.CA, leaf pkitest.Leaf) *tls.Config {
		info := pki.TLSInfo{TrustedCAFile: p.caFile}
		if issuer != nil {
			info.CertFile, info.KeyFile, _ = issuer.Issue(t, p.dir, "client-"+name, leaf)
		}
		cfg, err := info.ClientConfig()
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	for _, cs := range []struct {
		name string
		cfg  *tls.Config
		ok   bool
	}{
		{"no certificate", client("none", nil, pkitest.Leaf{}), false},
		{"another CA's", client("foreign", p.foreign["m4"], pkitest.Leaf{CN: "x"}), false},
		{"expired", client("expired", p.ca, pkitest.Leaf{CN: "x", Expired: true}), false},
		{"server usage only", client("srv", p.ca, pkitest.Leaf{CN: "x", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}), false},
		{"valid", client("valid", p.ca, pkitest.Leaf{CN: "x"}), true},
	} {
		if _, err := peerHandshake(leader, cs.cfg); (err == nil) != cs.ok {
			t.Errorf("peer port, %s: %v, want success %v", cs.name, err, cs.ok)
		}
	}

	// m4's certificate comes from another CA: added as a learner, it is
	// refused by the first member it asks about the cluster.
	if _, err := c.AddMember(ctxT(t, 10*time.Second), true); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a member with another CA's certificate started: %v", err)
	}

	// Rotate m1's certificate on disk: new connections get the new one.
	m1 := c.Members()[0]
	before, err := peerHandshake(m1, client("probe", p.ca, pkitest.Leaf{CN: "probe"}))
	if err != nil {
		t.Fatal(err)
	}
	p.ca.Issue(t, p.dir, m1.Name, pkitest.Leaf{CN: m1.Name})
	rotated := time.Now().Add(10 * time.Second)
	for {
		after, err := peerHandshake(m1, client("probe", p.ca, pkitest.Leaf{CN: "probe"}))
		if err == nil && after != before {
			break
		}
		if time.Now().After(rotated) {
			t.Fatalf("still the certificate with serial %s after the rotation (%v)", before, err)
		}
		time.Sleep(100 * time.Millisecond) // files are looked at once a second
	}
	if _, err := c.Client().Put(ctxT(t, 10*time.Second), "k", "after rotation"); err != nil {
		t.Fatal(err)
	}
}
