package v2api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestMembersMachinesStats(t *testing.T) {
	s, u := startMember(t)
	id := s.ID().String()
	m := `{"id":"` + id + `","name":"m1","peerURLs":["http://127.0.0.1:2380"],"clientURLs":["` + u + `"]}`
	do(t, "GET", u, "/v2/members", "").check(t, 200, `{"members":[`+m+`]}`+"\n")
	do(t, "GET", u, "/v2/members/leader", "").check(t, 200, m+"\n")
	do(t, "GET", u, "/v2/members/other", "").check(t, 404, `{"message":"Not found"}`)
	do(t, "DELETE", u, "/v2/members/abc", "").check(t, 404, `{"message":"No such member: abc"}`)
	do(t, "DELETE", u, "/v2/members", "").check(t, 405, "Method Not Allowed\n")
	do(t, "POST", u, "/v2/members", "a=b").check(t, 415, `{"message":"Bad Content-Type application/x-www-form-urlencoded, accept application/json"}`)
	r := do(t, "HEAD", u, "/v2/members", "")
	if r.status != 405 || r.header.Get("Allow") != "GET,POST,DELETE,PUT" {
		t.Fatalf("HEAD members: %d %v", r.status, r.header)
	}
	req, _ := http.NewRequest("POST", u+"/v2/members", strings.NewReader(`{"peerURLs":["not a url"]}`))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("POST a bad URL: %d", resp.StatusCode)
	}

	r = do(t, "GET", u, "/v2/machines", "")
	r.check(t, 200, u)
	if r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("machines Content-Type %q", r.header.Get("Content-Type"))
	}

	do(t, "GET", u, "/v2/stats/leader", "").check(t, 200, `{"leader":"`+id+`","followers":{}}`)
	r = do(t, "GET", u, "/v2/stats/self", "")
	var self map[string]any
	if err := json.Unmarshal([]byte(r.body), &self); err != nil || self["state"] != "StateLeader" || self["id"] != id || self["name"] != "m1" {
		t.Fatalf("stats/self: %s %v", r.body, err)
	}
	do(t, "PUT", u, "/v2/keys/x", "value=1")
	r = do(t, "GET", u, "/v2/stats/store", "")
	if r.status != 200 || !strings.HasPrefix(r.body, `{"getsSuccess":`) || !strings.Contains(r.body, `"setsSuccess":1,`) || strings.HasSuffix(r.body, "\n") {
		t.Fatalf("stats/store: %d %q", r.status, r.body)
	}
	r = do(t, "POST", u, "/v2/stats/store", "")
	if r.status != 405 || r.header.Get("Allow") != "GET" {
		t.Fatalf("POST stats: %d %v", r.status, r.header)
	}
	do(t, "GET", u, "/v2/stats", "").check(t, 404, "404 page not found\n")
}

func TestMemberChangesNotImplementedYet(t *testing.T) {
	s, u := startMember(t)
	req, err := http.NewRequest("POST", u+"/v2/members", strings.NewReader(`{"peerURLs":["http://127.0.0.1:1"]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented {
		t.Fatalf("member add: %s", resp.Status)
	}
	r := do(t, "DELETE", u, "/v2/members/"+s.ID().String(), "")
	if r.status != http.StatusNotImplemented || !strings.Contains(r.body, "not supported yet") {
		t.Fatalf("member remove: %d %s", r.status, r.body)
	}
}

// TestMemberRequestErrors checks etcd 3.5's answers to bad member requests
// (observed against a real etcd): the Content-Type test (lowercased only
// when parameters follow), the whole body unmarshalled at once, URLs
// trimmed and normalized before the taken check, and for PUT the ID
// parsed, then the body read, then the member looked up.
func TestMemberRequestErrors(t *testing.T) {
	s, u := startMember(t)
	id := s.ID().String()
	const taken = `{"peerURLs":["http://127.0.0.1:2380"]}`
	for _, step := range []struct {
		method, path, ctype, body string
		status                    int
		want                      string
	}{
		{"POST", "/v2/members", "application/JSON", taken, 415, `{"message":"Bad Content-Type application/JSON, accept application/json"}`},
		{"POST", "/v2/members", "bad/type;;", taken, 415, `{"message":"Bad Content-Type bad/type, accept application/json"}`},
		{"POST", "/v2/members", "APPLICATION/JSON; charset=x", taken, 409, `{"message":"membership: peerURL exists"}`},
		{"POST", "/v2/members", "application/json", taken + ` trailing`, 400, `{"message":"invalid character 't' after top-level value"}`},
		{"POST", "/v2/members", "application/json", ``, 400, `{"message":"unexpected end of JSON input"}`},
		{"POST", "/v2/members", "application/json", `{"peerURLs":["  http://127.0.0.1:2380  "]}`, 409, `{"message":"membership: peerURL exists"}`},
		{"POST", "/v2/members", "application/json", `{"peerURLs":["http://127.0.0.1"]}`, 400, `{"message":"URL address does not have the form \"host:port\": http://127.0.0.1"}`},
		{"PUT", "/v2/members/abc", "text/plain", taken, 415, `{"message":"Bad Content-Type text/plain, accept application/json"}`},
		{"PUT", "/v2/members/123", "application/json", `{bad`, 400, `{"message":"invalid character 'b' looking for beginning of object key string"}`},
		{"PUT", "/v2/members/00abc", "application/json", taken, 404, `{"message":"No such member: abc"}`},
		{"PUT", "/v2/members/xyz", "application/json", `{bad`, 404, `{"message":"No such member: xyz"}`},
		{"DELETE", "/v2/members/00abc", "", "", 404, `{"message":"No such member: abc"}`},
		{"PUT", "/v2/members/" + id, "application/json", `{bad`, 400, `{"message":"invalid character 'b' looking for beginning of object key string"}`},
	} {
		req, err := http.NewRequest(step.method, u+step.path, strings.NewReader(step.body))
		if err != nil {
			t.Fatal(err)
		}
		if step.ctype != "" {
			req.Header.Set("Content-Type", step.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != step.status || string(b) != step.want {
			t.Errorf("%s %s %q %s:\ngot  %d %s\nwant %d %s", step.method, step.path, step.ctype, step.body, resp.StatusCode, b, step.status, step.want)
		}
	}
}

// Only etcd's v2 paths are served: anything else under /v2 is a plain 404.
func TestUnknownV2PathsNotFound(t *testing.T) {
	_, u := startMember(t)
	for _, p := range []string{"/v2", "/v2/", "/v2/nothing", "/v2/stats"} {
		req, err := http.NewRequest("GET", u+p, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", p, resp.Status)
		}
	}
}
