package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

type testCA struct {
	certPEM, keyPEM []byte
	cert            *x509.Certificate
	pool            *x509.CertPool
}

func newTestCA(t *testing.T, req CARequest) testCA {
	t.Helper()
	certPEM, keyPEM, err := InitCA(req)
	if err != nil {
		t.Fatal(err)
	}
	ca := testCA{certPEM: certPEM, keyPEM: keyPEM, cert: parseCert(t, certPEM), pool: x509.NewCertPool()}
	ca.pool.AddCert(ca.cert)
	return ca
}

func TestIssueProfiles(t *testing.T) {
	ecCA := newTestCA(t, CARequest{CN: "ec CA"})
	rsaCA := newTestCA(t, CARequest{CN: "rsa CA", KeyAlgo: KeyAlgoRSA})
	serverAuth, clientAuth := x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth
	for _, tc := range []struct {
		name string
		ca   testCA
		req  CertRequest
		eku  []x509.ExtKeyUsage
	}{
		{"server", ecCA, CertRequest{Profile: "server", CN: "m1", Hosts: []string{"localhost", "127.0.0.1", "::1", "m1.example.com"}}, []x509.ExtKeyUsage{serverAuth}},
		{"peer", ecCA, CertRequest{Profile: "peer", CN: "m2", Hosts: []string{"10.0.0.2", "*.peers.example"}}, []x509.ExtKeyUsage{serverAuth, clientAuth}},
		{"client", ecCA, CertRequest{Profile: "client", CN: "alice"}, []x509.ExtKeyUsage{clientAuth}},
		{"rsa key from ecdsa CA", ecCA, CertRequest{Profile: "server", CN: "r", Hosts: []string{"localhost"}, KeyAlgo: "rsa"}, []x509.ExtKeyUsage{serverAuth}},
		{"ecdsa key from rsa CA", rsaCA, CertRequest{Profile: "peer", CN: "p", Hosts: []string{"127.0.0.1"}, KeyAlgo: "ecdsa"}, []x509.ExtKeyUsage{serverAuth, clientAuth}},
		{"rsa key from rsa CA", rsaCA, CertRequest{Profile: "client", CN: "bob", KeyAlgo: "rsa", Expiry: 2 * time.Hour}, []x509.ExtKeyUsage{clientAuth}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			certPEM, keyPEM, err := Issue(tc.ca.certPEM, tc.ca.keyPEM, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
				t.Fatalf("key does not match: %v", err)
			}
			c := parseCert(t, certPEM)
			if c.Subject.CommonName != tc.req.CN || c.Issuer.String() != tc.ca.cert.Subject.String() {
				t.Errorf("subject %q issuer %q", c.Subject, c.Issuer)
			}
			if c.IsCA {
				t.Error("a leaf is a CA")
			}
			if !slices.Equal(c.ExtKeyUsage, tc.eku) || len(c.UnknownExtKeyUsage) != 0 {
				t.Errorf("ext key usage %v, want %v", c.ExtKeyUsage, tc.eku)
			}
			ku := x509.KeyUsageDigitalSignature
			if _, isRSA := c.PublicKey.(*rsa.PublicKey); isRSA {
				ku |= x509.KeyUsageKeyEncipherment
			} else if k, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
				t.Errorf("key %T", c.PublicKey)
			}
			if c.KeyUsage != ku {
				t.Errorf("key usage %v, want %v", c.KeyUsage, ku)
			}
			var dns, ips []string
			for _, h := range tc.req.Hosts {
				if ip := net.ParseIP(h); ip != nil {
					ips = append(ips, ip.String())
				} else {
					dns = append(dns, h)
				}
			}
			var gotIPs []string
			for _, ip := range c.IPAddresses {
				gotIPs = append(gotIPs, ip.String())
			}
			if !slices.Equal(c.DNSNames, dns) || !slices.Equal(gotIPs, ips) || len(c.EmailAddresses)+len(c.URIs) != 0 {
				t.Errorf("SANs: DNS %q, IP %q, want %q and %q", c.DNSNames, gotIPs, dns, ips)
			}
			expiry := tc.req.Expiry
			if expiry == 0 {
				expiry = DefaultCertExpiry
			}
			near(t, "NotBefore", c.NotBefore, now.Add(-backdate))
			near(t, "NotAfter", c.NotAfter, now.Add(expiry))

			// It chains to its CA for each of its usages, and for no other.
			for _, u := range []x509.ExtKeyUsage{serverAuth, clientAuth} {
				opts := x509.VerifyOptions{Roots: tc.ca.pool, KeyUsages: []x509.ExtKeyUsage{u}}
				_, err := c.Verify(opts)
				if want := slices.Contains(tc.eku, u); (err == nil) != want {
					t.Errorf("verify for %v: %v, want ok=%v", u, err, want)
				}
			}
			for _, h := range tc.req.Hosts {
				if err := c.VerifyHostname(strings.Replace(h, "*", "x", 1)); err != nil {
					t.Error(err)
				}
			}
			other := newTestCA(t, CARequest{CN: tc.ca.cert.Subject.CommonName})
			if _, err := c.Verify(x509.VerifyOptions{Roots: other.pool, KeyUsages: tc.eku}); err == nil {
				t.Error("verified against another CA of the same name")
			}
		})
	}
}

// TestIssueNotBeyondCA: a certificate never outlives its CA.
func TestIssueNotBeyondCA(t *testing.T) {
	ca := newTestCA(t, CARequest{Expiry: 24 * time.Hour})
	certPEM, _, err := Issue(ca.certPEM, ca.keyPEM, CertRequest{Profile: "client", CN: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if c := parseCert(t, certPEM); !c.NotAfter.Equal(ca.cert.NotAfter) {
		t.Errorf("NotAfter %v, CA's %v", c.NotAfter, ca.cert.NotAfter)
	}
}

func TestIssueErrors(t *testing.T) {
	ca := newTestCA(t, CARequest{})
	other := newTestCA(t, CARequest{})
	leafPEM, leafKey, err := Issue(ca.certPEM, ca.keyPEM, CertRequest{Profile: "client", CN: "leaf"})
	if err != nil {
		t.Fatal(err)
	}
	expiredPEM, expiredKey := expiredCA(t)
	ok := CertRequest{Profile: "server", CN: "m", Hosts: []string{"localhost"}}
	with := func(f func(*CertRequest)) CertRequest { r := ok; f(&r); return r }
	for _, tc := range []struct {
		name    string
		caCert  []byte
		caKey   []byte
		req     CertRequest
		want    error
		message string
	}{
		{"unknown profile", nil, nil, with(func(r *CertRequest) { r.Profile = "admin" }), ErrUnknownProfile, `pki: unknown profile (want "server", "peer" or "client"): "admin"`},
		{"no profile", nil, nil, with(func(r *CertRequest) { r.Profile = "" }), ErrUnknownProfile, ""},
		{"no CN", nil, nil, with(func(r *CertRequest) { r.CN = "" }), ErrBadName, "pki: bad name: empty common name"},
		{"long CN", nil, nil, with(func(r *CertRequest) { r.CN = strings.Repeat("x", 65) }), ErrBadName, ""},
		{"empty host", nil, nil, with(func(r *CertRequest) { r.Hosts = []string{"a", ""} }), ErrBadHost, `pki: malformed host "": empty`},
		{"host with space", nil, nil, with(func(r *CertRequest) { r.Hosts = []string{"a b"} }), ErrBadHost, `pki: malformed host "a b": invalid character ' '`},
		{"key algo", nil, nil, with(func(r *CertRequest) { r.KeyAlgo = "ed25519" }), ErrUnknownKeyAlgo, `pki: unknown key algorithm (want "ecdsa" or "rsa"): "ed25519"`},
		{"expiry", nil, nil, with(func(r *CertRequest) { r.Expiry = -1 }), ErrBadExpiry, ""},
		{"no CA", nil, nil, ok, ErrBadCA, ""},
		{"garbage CA", []byte("garbage"), ca.keyPEM, ok, ErrBadCA, ""},
		{"leaf as CA", leafPEM, leafKey, ok, ErrBadCA, "pki: bad CA: CN=leaf is not a CA certificate"},
		{"key of another CA", ca.certPEM, other.keyPEM, ok, ErrBadCA, "pki: bad CA: the key does not match the certificate"},
		{"no CA key", ca.certPEM, nil, ok, ErrBadCA, ""},
		{"expired CA", expiredPEM, expiredKey, ok, ErrBadCA, "pki: bad CA: it expired at 2001-01-01T00:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			caCert, caKey := tc.caCert, tc.caKey
			if caCert == nil && tc.name != "no CA" {
				caCert, caKey = ca.certPEM, ca.keyPEM
			}
			c, k, err := Issue(caCert, caKey, tc.req)
			if !errors.Is(err, tc.want) || c != nil || k != nil {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if tc.message != "" && err.Error() != tc.message {
				t.Errorf("message %q, want %q", err, tc.message)
			}
		})
	}
}

// expiredCA is a CA, made with the standard library, that expired in 2001.
func expiredCA(t *testing.T) (certPEM, keyPEM []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "old"},
		NotBefore:             time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func TestCheckHost(t *testing.T) {
	for _, h := range []string{
		"localhost", "m1.example.com", "a-b.c_d.example", "*.example.com", "xn--bcher-kva.example",
		"127.0.0.1", "::1", "2001:db8::1", "10.0.0.255", "4chan.org", "a.b2",
		strings.Repeat("a", 63) + ".example",
	} {
		if err := checkHost(h); err != nil {
			t.Errorf("%q refused: %v", h, err)
		}
	}
	for _, h := range []string{
		"", " ", "a b", " localhost", "localhost ", "a..b", ".a", "a.", "-a", "a-", "a.-b",
		"a/b", "a:2379", "[::1]", "fe80::1%eth0", "10.0.0.256", "1.2.3", "123", "*", "a.*.b", "*a.b",
		"a@b", "mailto:a@b", "http://a", "é.example", "a\tb", "a\x00",
		strings.Repeat("a", 64) + ".example", strings.Repeat("a.", 127) + "ab",
	} {
		if err := checkHost(h); !errors.Is(err, ErrBadHost) {
			t.Errorf("%q: error %v, want ErrBadHost", h, err)
		}
	}
}

func TestWriteCert(t *testing.T) {
	ca := newTestCA(t, CARequest{})
	certPEM, keyPEM, err := Issue(ca.certPEM, ca.keyPEM, CertRequest{Profile: "peer", CN: "m1", Hosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	modes := map[string]os.FileMode{"m1.pem": 0o644, "m1-key.pem": 0o600}
	if err := WriteCert(dir, "m1", certPEM, keyPEM, false); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, dir, modes)
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "m1.pem"), filepath.Join(dir, "m1-key.pem")); err != nil {
		t.Fatal(err)
	}

	// Either file existing stops the write before anything is written.
	os.Remove(filepath.Join(dir, "m1.pem"))
	err = WriteCert(dir, "m1", []byte("new"), []byte("new"), false)
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "m1-key.pem") {
		t.Errorf("write over a key: %v", err)
	}
	checkFiles(t, dir, map[string]os.FileMode{"m1-key.pem": 0o600})

	// With force, both are replaced, with the right modes whatever the old ones were.
	os.WriteFile(filepath.Join(dir, "m1.pem"), []byte("old"), 0o600)
	os.Chmod(filepath.Join(dir, "m1-key.pem"), 0o644)
	if err := WriteCert(dir, "m1", certPEM, keyPEM, true); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, dir, modes)
	if b, _ := os.ReadFile(filepath.Join(dir, "m1.pem")); string(b) != string(certPEM) {
		t.Error("not replaced")
	}

	for _, name := range []string{"", ".", "..", "a/b", `a\b`, "a\nb"} {
		if err := WriteCert(dir, name, certPEM, keyPEM, true); !errors.Is(err, ErrBadName) {
			t.Errorf("name %q: %v", name, err)
		}
	}
	checkFiles(t, dir, modes)

	// A directory in the way fails before anything is written, even with force.
	sub := filepath.Join(dir, "sub")
	os.MkdirAll(filepath.Join(sub, "x-key.pem"), 0o755)
	if err := WriteCert(sub, "x", certPEM, keyPEM, true); err == nil {
		t.Error("wrote over a directory")
	}
	checkFiles(t, sub, map[string]os.FileMode{"x-key.pem": os.ModeDir | 0o755})
}

// TestWriteFailsMidway: when placing the second file fails, the first is
// removed again and no temporary file stays.
func TestWriteFailsMidway(t *testing.T) {
	defer func(l func(string, string) error) { link = l }(link)
	link = func(old, new string) error {
		if strings.HasSuffix(new, "-key.pem") {
			return &os.LinkError{Op: "link", Old: old, New: new, Err: syscall.EIO}
		}
		return os.Link(old, new)
	}
	dir := t.TempDir()
	if err := WriteCert(dir, "m", []byte("cert"), []byte("key"), false); !errors.Is(err, syscall.EIO) {
		t.Errorf("error %v, want EIO", err)
	}
	if err := WriteCA(dir, []byte("cert"), []byte("key"), false); !errors.Is(err, syscall.EIO) {
		t.Errorf("error %v, want EIO", err)
	}
	checkFiles(t, dir, nil)
}
