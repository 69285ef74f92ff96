package pki

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestDescribeFormat pins the whole format on a certificate with fixed
// fields (an Ed25519 key from a fixed seed, so nothing is random).
func TestDescribeFormat(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	u, _ := url.Parse("spiffe://larch/m1")
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(0x1234abcd),
		Subject:               pkix.Name{CommonName: "m1", Organization: []string{"Larch"}},
		NotBefore:             time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)),
		NotAfter:              time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{{1, 2, 3, 4}},
		DNSNames:              []string{"localhost", "m1.example.com"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		EmailAddresses:        []string{"ops@example.com"},
		URIs:                  []*url.URL{u},
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	got, err := Describe(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	want := `Subject:          CN=m1,O=Larch
Issuer:           CN=m1,O=Larch
Serial:           12:34:ab:cd
Not before:       2025-01-02T02:04:05Z
Not after:        2026-01-02T03:04:05Z
CA:               false
Public key:       Ed25519
DNS names:        localhost, m1.example.com
IP addresses:     127.0.0.1, ::1
Emails:           ops@example.com
URIs:             spiffe://larch/m1
Key usages:       digital signature, key encipherment
Ext key usages:   server auth, client auth, 1.2.3.4
SHA-256:          FP
`
	sum := sha256.Sum256(der)
	want = strings.Replace(want, "FP", strings.ReplaceAll(fmt.Sprintf("% X", sum), " ", ":"), 1)
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func fingerprint(der []byte) string {
	s, _ := Describe(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	i := strings.Index(s, "SHA-256:")
	return strings.TrimSpace(s[i+len("SHA-256:"):])
}

func TestDescribeIssued(t *testing.T) {
	ca := newTestCA(t, CARequest{CN: "Test CA"})
	certPEM, keyPEM, err := Issue(ca.certPEM, ca.keyPEM, CertRequest{Profile: "client", CN: "alice", KeyAlgo: "rsa"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Describe(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"Subject:          CN=alice\n",
		"Issuer:           CN=Test CA\n",
		"CA:               false\n",
		"Public key:       RSA 2048\n",
		"DNS names:        -\n",
		"IP addresses:     -\n",
		"Key usages:       digital signature, key encipherment\n",
		"Ext key usages:   client auth\n",
	} {
		if !strings.Contains(got, line) {
			t.Errorf("no line %q in\n%s", line, got)
		}
	}
	if strings.Contains(got, "Emails:") || strings.Contains(got, "URIs:") {
		t.Errorf("empty optional SANs shown:\n%s", got)
	}
	if fp := fingerprint(parseCert(t, certPEM).Raw); len(fp) != 32*3-1 || strings.ToUpper(fp) != fp {
		t.Errorf("fingerprint %q", fp)
	}

	// A chain is described certificate by certificate; other blocks are skipped.
	chain, err := Describe(append(append(append([]byte{}, keyPEM...), certPEM...), ca.certPEM...))
	if err != nil {
		t.Fatal(err)
	}
	caDesc, _ := Describe(ca.certPEM)
	if chain != got+"\n"+caDesc {
		t.Errorf("chain:\n%s", chain)
	}
	if !strings.Contains(caDesc, "CA:               true\n") || !strings.Contains(caDesc, "Key usages:       cert sign, crl sign\n") {
		t.Errorf("CA:\n%s", caDesc)
	}
}

func TestDescribeErrors(t *testing.T) {
	ca := newTestCA(t, CARequest{})
	for _, in := range [][]byte{
		nil,
		[]byte("not PEM"),
		ca.keyPEM,
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")}),
	} {
		if _, err := Describe(in); !errors.Is(err, ErrNoCertificate) {
			t.Errorf("%q: error %v", in, err)
		}
	}
}
