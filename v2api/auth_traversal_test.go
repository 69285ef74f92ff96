package v2api_test

import (
	"strings"
	"testing"
)

// TestDotSegmentsCannotEscapeAPattern: a guest allowed only /pub/* reads and
// writes /secret through /v2/keys/pub/%2e%2e/secret. The permission check
// sees the raw path "/pub/../secret" (prefix "/pub/" matches), the store
// the cleaned "/secret"; net/http's ServeMux (Go >= 1.22) cleans only the
// escaped path, so it does not redirect.
func TestDotSegmentsCannotEscapeAPattern(t *testing.T) {
	_, u := startMember(t)
	put := func(p, body string) response {
		t.Helper()
		return send(t, "PUT", u+p, "application/json", body)
	}
	put("/v2/auth/users/root", `{"user":"root","password":"rootpw"}`).check(t, 201, `{"user":"root","roles":["root"]}`+"\n")
	put("/v2/auth/enable", "").check(t, 200, "")
	sendAs(t, "PUT", u+"/v2/auth/roles/guest", "root", "rootpw",
		`{"role":"guest","revoke":{"kv":{"read":["/*"],"write":["/*"]}},"grant":{"kv":{"read":["/pub/*"],"write":["/pub/*"]}}}`)
	req := sendAs(t, "PUT", u+"/v2/keys/secret?value=s3cr3t", "root", "rootpw", "")
	if req.status != 201 {
		t.Fatalf("root put: %+v", req)
	}
	// Direct access is refused.
	if r := do(t, "GET", u, "/v2/keys/secret", ""); r.status != 401 {
		t.Fatalf("guest direct get: %d %s", r.status, r.body)
	}
	r := do(t, "GET", u, "/v2/keys/pub/%2e%2e/secret", "")
	if r.status == 200 && strings.Contains(r.body, "s3cr3t") {
		t.Errorf("guest read /secret through /pub/%%2e%%2e: %d %s", r.status, r.body)
	}
	w := do(t, "PUT", u, "/v2/keys/pub/%2e%2e/secret", "value=owned")
	if w.status == 200 || w.status == 201 {
		t.Errorf("guest wrote /secret through /pub/%%2e%%2e: %d %s", w.status, w.body)
	}
}
