package main

import (
	"crypto/tls"
	"testing"
)

// TestAutoTLSClientCertAuth: auto TLS asks clients for a
// certificate from the auto CA only under --client-cert-auth.
func TestAutoTLSClientCertAuth(t *testing.T) {
	caDir := writeCA(t)
	for _, cca := range []bool{false, true} {
		var extra []string
		if cca {
			extra = append(extra, "--client-cert-auth")
		}
		r := resolveAutoTLS(t, caDir, extra...)
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
