package v3api_test

import (
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"

	"github.com/larchkv/larch/pki/pkitest"
)

// getAll sends the requests one after another through client and checks
// each is answered 200 over HTTP/2 on one and the same connection: a
// server that drops the connection after its first answer fails here.
func getAll(t *testing.T, client *http.Client, base string) {
	t.Helper()
	var first net.Conn
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/version", ""},
		{"GET", "/health", ""},
		{"POST", "/v3/kv/put", `{"key":"aDI=","value":"djE="}`},
		{"POST", "/v3/kv/range", `{"key":"aDI="}`},
		{"GET", "/livez", ""},
		{"GET", "/version", ""},
	} {
		var conn net.Conn
		req, err := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { conn = info.Conn },
		}))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", r.method, r.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
			t.Fatalf("%s %s: %s over %s: %s", r.method, r.path, resp.Status, resp.Proto, body)
		}
		if r.path == "/v3/kv/range" && !strings.Contains(string(body), `"value":"djE="`) {
			t.Fatalf("range over HTTP/2: %s", body)
		}
		if first == nil {
			first = conn
		} else if conn != first {
			t.Fatalf("%s %s: a new connection; the server dropped the HTTP/2 one", r.method, r.path)
		}
	}
}

// TestHTTP2OverTLS: clients that negotiate h2 by ALPN (curl, browsers, Go's
// default transport) reach /version, /health, the probes and the JSON
// gateway on the TLS client port that also serves gRPC, as on etcd's.
func TestHTTP2OverTLS(t *testing.T) {
	fx := newTLSFixture(t)
	cfg := fx.clientTLS("curl", fx.ca, pkitest.Leaf{CN: "curl", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	getAll(t, &http.Client{Transport: tr}, "https://"+fx.m.listener.Addr().String())
}

// TestHTTP2PriorKnowledge: the plain client port takes HTTP/2 without TLS
// (curl --http2-prior-knowledge) for its HTTP paths too.
func TestHTTP2PriorKnowledge(t *testing.T) {
	m := startMember(t, nil)
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	getAll(t, &http.Client{Transport: tr}, "http://"+m.listener.Addr().String())
}
