package v2api_test

import (
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/larchkv/larch/pki"
	"github.com/larchkv/larch/pki/pkitest"
)

// TestV2ClientCertificateNamesTheUser: with --client-cert-auth, a v2
// request without an Authorization header is made by the user its client
// certificate names (spec/v2.md §5.4): root's certificate manages auth,
// alice's writes only where her role lets her.
func TestV2ClientCertificateNamesTheUser(t *testing.T) {
	dir := t.TempDir()
	ca := pkitest.NewCA(t, "ca")
	caFile := ca.WriteCA(t, dir, "ca")
	cert, key, _ := ca.Issue(t, dir, "server", pkitest.Leaf{CN: "server", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	serverTLS, err := pki.TLSInfo{CertFile: cert, KeyFile: key, TrustedCAFile: caFile, ClientCertAuth: true}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	_, u := startMemberTLS(t, serverTLS)
	client := func(cn string) *http.Client {
		certFile, keyFile, _ := ca.Issue(t, dir, cn, pkitest.Leaf{CN: cn, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		cfg, err := pki.TLSInfo{CertFile: certFile, KeyFile: keyFile, TrustedCAFile: caFile}.ClientConfig()
		if err != nil {
			t.Fatal(err)
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	do := func(c *http.Client, method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, u+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" && strings.HasPrefix(path, "/v2/keys") {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	root, alice := client("root"), client("alice")
	for _, step := range []struct{ method, path, body string }{
		{"PUT", "/v2/auth/users/root", `{"user":"root","password":"rootpw"}`},
		{"PUT", "/v2/auth/roles/app", `{"role":"app","permissions":{"kv":{"read":["/app/*"],"write":["/app/*"]}}}`},
		{"PUT", "/v2/auth/users/alice", `{"user":"alice","password":"alicepw","roles":["app"]}`},
		{"PUT", "/v2/auth/enable", ""},
		{"PUT", "/v2/auth/roles/guest", `{"role":"guest","revoke":{"kv":{"read":["/*"],"write":["/*"]}}}`},
	} {
		if code, body := do(root, step.method, step.path, step.body); code >= 300 {
			t.Fatalf("%s %s: %d %s", step.method, step.path, code, body)
		}
	}
	if code, body := do(root, "GET", "/v2/auth/users", ""); code != 200 {
		t.Fatalf("root's certificate listing users: %d %s", code, body)
	}
	if code, body := do(alice, "GET", "/v2/auth/users", ""); code != 401 {
		t.Fatalf("alice's certificate listing users: %d %s", code, body)
	}
	if code, body := do(alice, "PUT", "/v2/keys/app/x", "value=1"); code != 201 {
		t.Fatalf("alice's certificate writing /app/x: %d %s", code, body)
	}
	if code, body := do(alice, "PUT", "/v2/keys/other", "value=1"); code != 401 {
		t.Fatalf("alice's certificate writing /other: %d %s", code, body)
	}
}
