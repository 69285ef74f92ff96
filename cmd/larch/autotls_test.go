package main

import (
	"io"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/larchkv/larch/pki"
)

// TestAutoTLSRenews: a self-issued certificate is kept while young, and
// issued again once two thirds of its life have passed or when it does
// not name the member's hosts.
func TestAutoTLSRenews(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	caDir := writeCA(t)
	a := autoTLS{profile: "peer", caDir: caDir, dir: t.TempDir(), cn: "m1", hosts: []string{"127.0.0.1"}}
	serial := func() string {
		t.Helper()
		c, err := readCert(a.certFile())
		if err != nil {
			t.Fatal(err)
		}
		return c.SerialNumber.String()
	}
	if err := a.ensure(logger); err != nil {
		t.Fatal(err)
	}
	first := serial()
	if err := a.ensure(logger); err != nil || serial() != first {
		t.Fatalf("a young certificate was issued again (%v)", err)
	}

	// A certificate valid one more minute, issued five minutes before now
	// (pki backdates by five minutes): past two thirds of its life.
	caCert, caKey, err := pki.LoadCA(caDir)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := pki.Issue(caCert, caKey, pki.CertRequest{Profile: "peer", CN: "m1", Hosts: a.hosts, Expiry: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteCert(a.dir, "cert", certPEM, keyPEM, true); err != nil {
		t.Fatal(err)
	}
	old := serial()
	if err := a.ensure(logger); err != nil || serial() == old {
		t.Fatalf("a certificate due for renewal was kept (%v)", err)
	}

	renewed := serial()
	a.hosts = autoHosts([]*url.URL{{Scheme: "https", Host: "127.0.0.1:2380"}, {Scheme: "https", Host: "0.0.0.0:2380"}},
		[]*url.URL{{Scheme: "https", Host: "localhost:2380"}})
	if len(a.hosts) != 2 {
		t.Fatalf("hosts %v, want 127.0.0.1 and localhost", a.hosts)
	}
	if err := a.ensure(logger); err != nil || serial() == renewed {
		t.Fatalf("a certificate not naming a new host was kept (%v)", err)
	}
}
