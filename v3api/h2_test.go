package v3api_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

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

// TestHTTP2LargeFirstRequest: a first request whose
// frames are 256 bytes or more (a 4 KiB put), sent before the client
// acknowledges cmux's SETTINGS, crosses h2Conn's frame parser with
// lengths that use all three length bytes.
func TestHTTP2LargeFirstRequest(t *testing.T) {
	m := startMember(t, nil)
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	base := "http://" + m.listener.Addr().String()
	val := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("v", 4096)))
	for i, body := range []string{`{"key":"aDI=","value":"` + val + `"}`, `{"key":"aDI="}`} {
		path := []string{"/v3/kv/put", "/v3/kv/range"}[i]
		resp, err := client.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
			t.Fatalf("%s: %s %s: %.200s", path, resp.Status, resp.Proto, b)
		}
		if i == 1 && !strings.Contains(string(b), val) {
			t.Fatalf("range: %.200s", b)
		}
	}
}

// TestGRPCContentSubtype: gRPC's content-type may carry a subtype
// (application/grpc+proto); such calls reach the gRPC server, as on etcd.
func TestGRPCContentSubtype(t *testing.T) {
	m := startMember(t, nil)
	conn, err := grpc.NewClient(m.listener.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := pb.NewKVClient(conn).Range(ctx, &pb.RangeRequest{Key: []byte("a")}, grpc.CallContentSubtype("proto")); err != nil {
		t.Fatalf("application/grpc+proto: %v", err)
	}
}
