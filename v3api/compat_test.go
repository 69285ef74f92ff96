package v3api_test

import (
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The plain HTTP paths of the client port answer as etcd 3.6.6's do: CORS
// headers and OPTIONS on every path, 405 with Allow, the probes' sub-paths
// and exclusions, /v3beta/ as an alias of /v3/.
func TestHTTPLikeEtcd(t *testing.T) {
	m := startMember(t, nil)
	must[*clientv3.PutResponse](t)(m.client(t).Put(ctx(t), "foo", "bar")) // waits for a leader
	for _, path := range []string{"/version", "/health", "/livez", "/nope"} {
		code, h, _ := httpDo(t, "GET", m.URL+path, "")
		if h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Methods") != "POST, GET, OPTIONS, PUT, DELETE" ||
			h.Get("Access-Control-Allow-Headers") != "accept, content-type, authorization" {
			t.Fatalf("GET %s: %d, no CORS headers: %v", path, code, h)
		}
		if code, _, body := httpDo(t, "OPTIONS", m.URL+path, ""); code != 200 || body != "" {
			t.Fatalf("OPTIONS %s: %d %q", path, code, body)
		}
	}
	for _, path := range []string{"/version", "/health", "/livez", "/readyz/linearizable_read"} {
		code, h, body := httpDo(t, "POST", m.URL+path, "")
		if code != 405 || h.Get("Allow") != "GET" || body != "Method Not Allowed\n" {
			t.Fatalf("POST %s: %d %v %q", path, code, h, body)
		}
	}
	for _, path := range []string{"/health", "/health?serializable=true"} {
		code, h, body := httpDo(t, "GET", m.URL+path, "")
		if code != 200 || h.Get("Content-Type") != "text/plain; charset=utf-8" || body != `{"health":"true","reason":""}` {
			t.Fatalf("GET %s: %d %v %q", path, code, h, body)
		}
	}
	for path, want := range map[string]string{
		"/livez/serializable_read":                                 "ok\n",
		"/readyz/linearizable_read":                                "ok\n",
		"/readyz/non_learner?verbose":                              "[+]non_learner ok\nok\n",
		"/readyz?verbose&exclude=linearizable_read&exclude=nosuch": "[+]data_corruption ok\n[+]non_learner ok\n[+]serializable_read ok\nok\n",
	} {
		code, h, body := httpDo(t, "GET", m.URL+path, "")
		if code != 200 || body != want || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET %s: %d %v %q; want %q", path, code, h, body, want)
		}
	}
	if code, _, body := httpDo(t, "GET", m.URL+"/readyz/nosuch", ""); code != 404 {
		t.Fatalf("GET /readyz/nosuch: %d %q", code, body)
	}
	if code, _, body := httpDo(t, "POST", m.URL+"/v3beta/kv/range", `{"key":"Zm9v"}`); code != 200 || !strings.Contains(body, `"value":"YmFy"`) {
		t.Fatalf("/v3beta/kv/range: %d %q", code, body)
	}
}

// The gateway's bytes: the server content-type it passes on, and
// protobuf-go's error prefix with a plain space, as in etcd's binary.
func TestGatewayLikeEtcd(t *testing.T) {
	m := startMember(t, nil)
	code, h, _ := httpDo(t, "POST", m.URL+"/v3/kv/range", `{"key":"Zm9v"}`)
	if code != 200 || h.Get("Grpc-Metadata-Content-Type") != "application/grpc" {
		t.Fatalf("range: %d %v", code, h)
	}
	for body, want := range map[string]string{
		`null`:                       `{"code":3,"message":"proto: syntax error (line 1:1): unexpected token null"}`,
		`{"key":"not base64!"}`:      `{"code":3,"message":"proto: (line 1:8): invalid value for bytes field key: \"not base64!\""}`,
		`{"key":"Zm9v","limit":"x"}`: `{"code":3,"message":"proto: (line 1:23): invalid value for int64 field limit: \"x\""}`,
	} {
		if code, _, got := httpDo(t, "POST", m.URL+"/v3/kv/range", body); code != 400 || got != want {
			t.Fatalf("range %s: %d %q; want %q", body, code, got, want)
		}
	}
}

// HashKV answers from the hashes the last compactions took, as etcd does;
// the values are etcd 3.6.6's for the same history.
func TestHashKVCompactionHashes(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	addr := m.listener.Addr().String()
	must[*clientv3.CompactResponse](t)(c.Compact(ctx(t), 0))
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "a", "1"))
	hk := must[*clientv3.HashKVResponse](t)(c.HashKV(ctx(t), addr, 0))
	if hk.Hash != 1084519789 || hk.CompactRevision != -1 || hk.HashRevision != 0 || hk.Header.Revision != 2 {
		t.Fatalf("HashKV(0) after compact 0: %+v", hk)
	}
	hk = must[*clientv3.HashKVResponse](t)(c.HashKV(ctx(t), addr, 2))
	if hk.Hash != 2587454935 || hk.CompactRevision != 0 || hk.HashRevision != 2 {
		t.Fatalf("HashKV(2): %+v", hk)
	}
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "a", "2"))
	must[*clientv3.DeleteResponse](t)(c.Delete(ctx(t), "a"))
	must[*clientv3.CompactResponse](t)(c.Compact(ctx(t), 4))
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "b", "1"))
	must[*clientv3.CompactResponse](t)(c.Compact(ctx(t), 5))
	// 4 is below the compaction now, but its hash is remembered.
	hk = must[*clientv3.HashKVResponse](t)(c.HashKV(ctx(t), addr, 4))
	if hk.Hash != 1363947557 || hk.CompactRevision != 0 || hk.HashRevision != 4 || hk.Header.Revision != 5 {
		t.Fatalf("HashKV(4): %+v", hk)
	}
}
