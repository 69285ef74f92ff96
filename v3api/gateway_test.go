package v3api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func httpDo(t *testing.T, method, url, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func TestGateway(t *testing.T) {
	m := startMember(t, nil)
	var hdr struct {
		Header struct {
			ClusterID string `json:"cluster_id"`
			MemberID  string `json:"member_id"`
			Revision  string `json:"revision"`
			RaftTerm  string `json:"raft_term"`
		} `json:"header"`
	}
	code, h, body := httpDo(t, "POST", m.URL+"/v3/kv/put", `{"key":"Zm9v","value":"YmFy"}`)
	if code != 200 || json.Unmarshal([]byte(body), &hdr) != nil || hdr.Header.Revision != "2" || hdr.Header.ClusterID == "" {
		t.Fatalf("put: %d %s", code, body)
	}
	if h.Get("Content-Type") != "application/json" || h.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("put headers: %v", h)
	}
	code, _, body = httpDo(t, "POST", m.URL+"/v3/kv/put", `{"key":"Zm9v","value":"YmF6","prev_kv":true}`)
	want := `"prev_kv":{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}}`
	if code != 200 || !strings.HasSuffix(body, want) {
		t.Fatalf("put prev_kv: %d %s", code, body)
	}
	code, _, body = httpDo(t, "POST", m.URL+"/v3/kv/range", `{"key":"Zm9v","count_only":true}`)
	if code != 200 || !strings.HasSuffix(body, `,"count":"1"}`) {
		t.Fatalf("range count_only: %d %s", code, body)
	}
	code, _, body = httpDo(t, "POST", m.URL+"/v3/kv/range", `{}`)
	if code != 400 || body != `{"code":3,"message":"etcdserver: key is not provided"}` {
		t.Fatalf("empty range: %d %s", code, body)
	}
	code, _, body = httpDo(t, "POST", m.URL+"/v3/kv/range", `{"key":"Zm9v","revision":"99"}`)
	if code != 400 || body != `{"code":11,"message":"etcdserver: mvcc: required revision is a future revision"}` {
		t.Fatalf("future range: %d %s", code, body)
	}
	code, _, body = httpDo(t, "POST", m.URL+"/v3/kv/txn", `{"compare":[{"key":"Zm9v","target":"VALUE","result":"EQUAL","value":"YmF6"}],"success":[{"request_put":{"key":"Zm9v","value":"djI="}},{"request_txn":{}}]}`)
	if code != 200 || !strings.Contains(body, `"succeeded":true,"responses":[{"response_put":{"header":{"revision":"4"}}},{"response_txn":{"header":{},"succeeded":true}}]`) {
		t.Fatalf("txn: %d %s", code, body)
	}
	code, _, body = httpDo(t, "GET", m.URL+"/v3/kv/range", ``)
	if code != 501 {
		t.Fatalf("GET on a gateway path: %d %s", code, body)
	}
	code, _, body = httpDo(t, "POST", m.URL+"/v3/maintenance/status", `{}`)
	if code != 200 || !strings.Contains(body, `"version":"3.6.6"`) || !strings.Contains(body, `"storageVersion":"3.6.0"`) {
		t.Fatalf("status: %d %s", code, body)
	}
	code, _, body = httpDo(t, "GET", m.URL+"/version", ``)
	if code != 200 || body != `{"etcdserver":"3.6.6","etcdcluster":"3.6.0","storage":"3.6.0"}` {
		t.Fatalf("version: %d %q", code, body)
	}
	code, _, body = httpDo(t, "GET", m.URL+"/health", ``)
	if code != 200 || body != `{"health":"true","reason":""}` {
		t.Fatalf("health: %d %q", code, body)
	}
	code, _, body = httpDo(t, "GET", m.URL+"/readyz?verbose", ``)
	if code != 200 || !strings.Contains(body, "[+]linearizable_read ok\n") || !strings.HasSuffix(body, "ok\n") {
		t.Fatalf("readyz: %d %q", code, body)
	}
	code, _, body = httpDo(t, "GET", m.URL+"/metrics", ``)
	if code != 200 || !strings.Contains(body, "etcd_server_has_leader 1") || !strings.Contains(body, "etcd_disk_wal_fsync_duration_seconds_bucket") {
		t.Fatalf("metrics: %d", code)
	}
}
