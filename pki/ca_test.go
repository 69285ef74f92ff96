package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func parseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	b, rest := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" || len(rest) != 0 {
		t.Fatalf("not one PEM certificate: %q", certPEM)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// near checks that got is within a minute of want.
func near(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if d := got.Sub(want); d < -time.Minute || d > time.Minute {
		t.Errorf("%s = %v, want about %v", what, got, want)
	}
}

func TestInitCA(t *testing.T) {
	for _, tc := range []struct {
		req     CARequest
		cn      string
		rsaBits int // 0: ECDSA P-256
		expiry  time.Duration
	}{
		{req: CARequest{}, cn: DefaultCACN, expiry: DefaultCAExpiry},
		{req: CARequest{CN: "test CA", KeyAlgo: "ecdsa", Expiry: 48 * time.Hour}, cn: "test CA", expiry: 48 * time.Hour},
		{req: CARequest{CN: "rsa CA", KeyAlgo: "rsa"}, cn: "rsa CA", rsaBits: 2048, expiry: DefaultCAExpiry},
	} {
		t.Run(tc.cn, func(t *testing.T) {
			now := time.Now()
			certPEM, keyPEM, err := InitCA(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			ca := parseCert(t, certPEM)
			if ca.Subject.CommonName != tc.cn || ca.Issuer.CommonName != tc.cn {
				t.Errorf("subject %q, issuer %q, want %q", ca.Subject, ca.Issuer, tc.cn)
			}
			if !ca.IsCA || !ca.BasicConstraintsValid {
				t.Error("not a CA")
			}
			if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign; ca.KeyUsage != want {
				t.Errorf("key usage %v, want %v", ca.KeyUsage, want)
			}
			if err := ca.CheckSignatureFrom(ca); err != nil {
				t.Errorf("not self-signed: %v", err)
			}
			near(t, "NotBefore", ca.NotBefore, now.Add(-backdate))
			near(t, "NotAfter", ca.NotAfter, now.Add(tc.expiry))
			switch k := ca.PublicKey.(type) {
			case *ecdsa.PublicKey:
				if tc.rsaBits != 0 || k.Curve != elliptic.P256() {
					t.Errorf("ECDSA key on %s", k.Curve.Params().Name)
				}
			case *rsa.PublicKey:
				if k.N.BitLen() != tc.rsaBits {
					t.Errorf("RSA key of %d bits", k.N.BitLen())
				}
			default:
				t.Errorf("key %T", k)
			}
			if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
				t.Errorf("key does not match: %v", err)
			}
		})
	}
}

func TestInitCAErrors(t *testing.T) {
	for _, tc := range []struct {
		req  CARequest
		want error
	}{
		{CARequest{KeyAlgo: "dsa"}, ErrUnknownKeyAlgo},
		{CARequest{KeyAlgo: "ECDSA"}, ErrUnknownKeyAlgo},
		{CARequest{Expiry: -time.Hour}, ErrBadExpiry},
		{CARequest{CN: "a\nb"}, ErrBadName},
	} {
		if _, _, err := InitCA(tc.req); !errors.Is(err, tc.want) {
			t.Errorf("%+v: error %v, want %v", tc.req, err, tc.want)
		}
	}
}

func TestWriteAndLoadCA(t *testing.T) {
	certPEM, keyPEM, err := InitCA(CARequest{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "new", "ca")
	if _, _, err := LoadCA(dir); !errors.Is(err, ErrNoCA) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadCA of a missing dir: %v", err)
	}
	if err := WriteCA(dir, certPEM, keyPEM, false); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, dir, map[string]os.FileMode{"ca.pem": 0o644, "ca-key.pem": 0o600})
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("made dir: %v %v", st.Mode(), err)
	}
	c, k, err := LoadCA(dir)
	if err != nil || string(c) != string(certPEM) || string(k) != string(keyPEM) {
		t.Errorf("LoadCA: %v", err)
	}

	// Never overwritten without force; with force, replaced.
	other, otherKey, err := InitCA(CARequest{CN: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteCA(dir, other, otherKey, false); !errors.Is(err, ErrExists) {
		t.Errorf("WriteCA over a CA: %v", err)
	}
	if c, _, _ := LoadCA(dir); string(c) != string(certPEM) {
		t.Error("CA overwritten without force")
	}
	if err := WriteCA(dir, other, otherKey, true); err != nil {
		t.Fatal(err)
	}
	if c, k, _ := LoadCA(dir); string(c) != string(other) || string(k) != string(otherKey) {
		t.Error("CA not overwritten with force")
	}
	checkFiles(t, dir, map[string]os.FileMode{"ca.pem": 0o644, "ca-key.pem": 0o600})

	os.Remove(filepath.Join(dir, "ca-key.pem"))
	if _, _, err := LoadCA(dir); !errors.Is(err, ErrNoCA) {
		t.Errorf("LoadCA without a key: %v", err)
	}
}

// checkFiles checks that dir holds exactly the files of want, with those modes.
func checkFiles(t *testing.T, dir string, want map[string]os.FileMode) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !(errors.Is(err, os.ErrNotExist) && len(want) == 0) {
		t.Fatal(err)
	}
	got := map[string]os.FileMode{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		got[e.Name()] = info.Mode()
	}
	if len(got) != len(want) {
		t.Errorf("files in %s: %v, want %v", dir, got, want)
		return
	}
	for name, mode := range want {
		if got[name] != mode {
			t.Errorf("%s: mode %v, want %v (files %v)", name, got[name], mode, got)
		}
	}
}
