package v2api_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	client "go.etcd.io/etcd/client/v2"

	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/cluster/clustertest"
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
	send(t, "POST", u+"/v2/members", "application/json; charset=utf-8", `{"peerURLs":["not a url"]}`).
		check(t, 400, `{"message":"URL scheme must be http, https, unix, or unixs: not a url"}`)

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
		r := send(t, step.method, u+step.path, step.ctype, step.body)
		if r.status != step.status || r.body != step.want {
			t.Errorf("%s %s %q %s:\ngot  %d %s\nwant %d %s", step.method, step.path, step.ctype, step.body, r.status, r.body, step.status, step.want)
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

// startCluster starts three in-process members that serve the v2 API next
// to the v3 API, and waits until every one of them would accept a member
// add.
func startCluster(t *testing.T) *clustertest.Cluster {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := clustertest.New(t, clustertest.Config{Size: 3, Handlers: func(s *cluster.Server) map[string]http.Handler {
		return v2Handlers(s, logger)
	}})
	// The strict reconfiguration check refuses an add (500) until the
	// member has been connected to every voting peer for HealthInterval,
	// an age nothing outside the member shows. An add of a peer URL in use
	// gets past the check, is refused with 409 when applied, and changes
	// nothing: poll each member with it.
	taken := fmt.Sprintf(`{"peerURLs":[%q]}`, c.Members()[0].PeerURL)
	deadline := time.Now().Add(10 * time.Second)
	for _, m := range c.Members() {
		for {
			r := send(t, "POST", m.ClientURL+"/v2/members", "application/json", taken)
			if r.status == http.StatusConflict {
				break
			}
			if r.status != http.StatusInternalServerError || time.Now().After(deadline) {
				t.Fatalf("%s: adding a member with a taken peer URL: %d %s", m.Name, r.status, r.body)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return c
}

// TestMemberChanges adds, updates and removes a member through
// /v2/members of a three-member cluster, and checks every answer's status,
// headers and bytes against etcd 3.5's (captured with curl).
func TestMemberChanges(t *testing.T) {
	c := startCluster(t)
	m1, m2, m3 := c.Members()[0], c.Members()[1], c.Members()[2]
	u := m1.ClientURL + "/v2/members"
	clusterID := m1.Server().ClusterID().String()
	const jsonType = "application/json"
	type want struct {
		status int
		ctype  string // the Content-Type header, "" for none
		body   string
	}
	expect := func(r response, w want) {
		t.Helper()
		if r.status != w.status || r.header.Get("Content-Type") != w.ctype || r.body != w.body {
			t.Fatalf("got  %d %q %q\nwant %d %q %q", r.status, r.header.Get("Content-Type"), r.body, w.status, w.ctype, w.body)
		}
		if got := r.header.Get("X-Etcd-Cluster-Id"); got != clusterID {
			t.Fatalf("X-Etcd-Cluster-Id %q, want %q", got, clusterID)
		}
	}
	message := func(status int, msg string) want {
		return want{status, jsonType, `{"message":"` + msg + `"}`}
	}
	noContent := want{http.StatusNoContent, "", ""}

	// Add an unstarted member: 201 with the member, as json.Encoder writes it.
	r := send(t, "POST", u, jsonType, `{"peerURLs":["http://127.0.0.1:1"]}`)
	var added struct{ ID string }
	if err := json.Unmarshal([]byte(r.body), &added); err != nil || added.ID == "" {
		t.Fatalf("member add: %d %q: %v", r.status, r.body, err)
	}
	unstarted := `{"id":"` + added.ID + `","name":"","peerURLs":["http://127.0.0.1:1"],"clientURLs":[]}`
	expect(r, want{http.StatusCreated, jsonType, unstarted + "\n"})
	if list := send(t, "GET", u, "", "").body; !strings.Contains(list, unstarted) {
		t.Fatalf("the member list lacks the added member %s: %s", unstarted, list)
	}

	// With a voter that never started, the strict check refuses any add.
	expect(send(t, "POST", u, jsonType, fmt.Sprintf(`{"peerURLs":[%q]}`, m2.PeerURL)), message(500, "Internal Server Error"))
	expect(send(t, "POST", u, jsonType, `{"peerURLs":["http://127.0.0.1:3"]}`), message(500, "Internal Server Error"))

	// Update: its URLs, another member's URL, a member's own URL again.
	expect(send(t, "PUT", u+"/"+added.ID, jsonType, `{"peerURLs":["http://127.0.0.1:2"]}`), noContent)
	if list := send(t, "GET", u, "", "").body; !strings.Contains(list, `{"id":"`+added.ID+`","name":"","peerURLs":["http://127.0.0.1:2"],"clientURLs":[]}`) {
		t.Fatalf("the member list lacks the updated member: %s", list)
	}
	expect(send(t, "PUT", u+"/"+m3.ID().String(), jsonType, fmt.Sprintf(`{"peerURLs":[%q]}`, m1.PeerURL)), message(409, "membership: peerURL exists"))
	expect(send(t, "PUT", u+"/"+m3.ID().String(), jsonType, fmt.Sprintf(`{"peerURLs":[%q]}`, m3.PeerURL)), noContent)
	expect(send(t, "PUT", u+"/1234abcd", jsonType, `{"peerURLs":["http://127.0.0.1:2"]}`), message(404, "No such member: 1234abcd"))
	expect(send(t, "PUT", u+"/zzz", jsonType, `{"peerURLs":["http://127.0.0.1:2"]}`), message(404, "No such member: zzz"))

	// Remove it; then it is gone for good: 410 for DELETE, 500 for PUT.
	expect(send(t, "DELETE", u+"/"+added.ID, "", ""), noContent)
	expect(send(t, "DELETE", u+"/"+added.ID, "", ""), message(410, "Member permanently removed: "+added.ID))
	expect(send(t, "PUT", u+"/"+added.ID, jsonType, `{"peerURLs":["http://127.0.0.1:2"]}`), message(500, "Internal Server Error"))
	expect(send(t, "DELETE", u+"/00001234abcd", "", ""), message(404, "No such member: 1234abcd"))
	expect(send(t, "DELETE", u+"/zzz", "", ""), message(404, "No such member: zzz"))

	// All voters started again: a taken URL is refused when applied.
	expect(send(t, "POST", u, jsonType, fmt.Sprintf(`{"peerURLs":[%q]}`, m2.PeerURL)), message(409, "membership: peerURL exists"))
}

// TestMembersAPI drives the member changes with etcd's v2 client over all
// three members, and ends by removing a running member.
func TestMembersAPI(t *testing.T) {
	c := startCluster(t)
	var eps []string
	for _, m := range c.Members() {
		eps = append(eps, m.ClientURL)
	}
	cl, err := client.New(client.Config{Endpoints: eps, HeaderTimeoutPerRequest: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	api := client.NewMembersAPI(cl)
	ctx := ctx(t)

	added, err := api.Add(ctx, "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if added.ID == "" || added.Name != "" || !slices.Equal(added.PeerURLs, []string{"http://127.0.0.1:1"}) || len(added.ClientURLs) != 0 {
		t.Fatalf("added %+v", added)
	}
	if err := api.Update(ctx, added.ID, []string{"http://127.0.0.1:2"}); err != nil {
		t.Fatal(err)
	}
	members, err := api.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(members, func(m client.Member) bool { return m.ID == added.ID })
	if len(members) != 4 || i < 0 || !slices.Equal(members[i].PeerURLs, []string{"http://127.0.0.1:2"}) {
		t.Fatalf("members after the update: %+v", members)
	}

	m1, m3 := c.Members()[0], c.Members()[2]
	if err := api.Update(ctx, added.ID, []string{m1.PeerURL}); err == nil || err.Error() != "membership: peerURL exists" {
		t.Fatalf("update to a taken URL: %v", err)
	}
	if err := api.Update(ctx, "1234abcd", []string{"http://127.0.0.1:3"}); err == nil || err.Error() != "No such member: 1234abcd" {
		t.Fatalf("update of an unknown member: %v", err)
	}
	// A 500 means "no leader" to the client, which tries every member.
	_, err = api.Add(ctx, "http://127.0.0.1:3")
	var ce *client.ClusterError
	if !errors.As(err, &ce) || len(ce.Errors) != len(eps) || !strings.HasSuffix(ce.Errors[0].Error(), " has no leader") {
		t.Fatalf("add beside an unstarted voter: %v", err)
	}

	if err := api.Remove(ctx, added.ID); err != nil {
		t.Fatal(err)
	}
	// 410 Gone counts as success for the client.
	if err := api.Remove(ctx, added.ID); err != nil {
		t.Fatalf("removing a removed member: %v", err)
	}
	if err := api.Remove(ctx, "1234abcd"); err == nil || err.Error() != "unexpected status code 404" {
		t.Fatalf("removing an unknown member: %v", err)
	}

	// Remove a running member. Whether and when it notices is the
	// cluster's business; here it only has to leave the membership.
	if err := api.Remove(ctx, m3.ID().String()); err != nil {
		t.Fatal(err)
	}
	m3.Stop()
	for {
		r := send(t, "GET", m1.ClientURL+"/v2/members", "", "")
		if r.status == 200 && !strings.Contains(r.body, m3.ID().String()) && !strings.Contains(r.body, added.ID) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("members after the removals: %d %s", r.status, r.body)
		}
		// The removal reaches m1 with the log; nothing to wait on.
		time.Sleep(10 * time.Millisecond)
	}
}
