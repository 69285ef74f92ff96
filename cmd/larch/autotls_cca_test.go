package main

import (
	"crypto/tls"
	"io"
	"log/slog"
	"testing"
)

// TestAutoTLSClientCertAuth: auto TLS asks clients for a
// certificate from the auto CA only under --client-cert-auth.
func TestAutoTLSClientCertAuth(t *testing.T) {
	caDir := writeCA(t)
	for _, cca := range []bool{false, true} {
		args := autoTLSArgs(t, caDir)
		if cca {
			args = append(args, "--client-cert-auth")
		}
		r, _, err := resolveArgs(t, args, nil)
		if err != nil {
			t.Fatal(err)
		}
		stop, err := startAutoTLS(&r, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		stop()
		srv, err := r.clientTLS.ServerConfig()
		if err != nil {
			t.Fatalf("client-cert-auth=%v: %v", cca, err)
		}
		c, _ := srv.GetConfigForClient(&tls.ClientHelloInfo{})
		if want := map[bool]tls.ClientAuthType{false: tls.NoClientCert, true: tls.RequireAndVerifyClientCert}[cca]; c.ClientAuth != want {
			t.Errorf("client-cert-auth=%v: ClientAuth %v, want %v", cca, c.ClientAuth, want)
		}
	}
}
