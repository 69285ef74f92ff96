package v2api_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	client "go.etcd.io/etcd/client/v2"
)

// TestKeysBytes replays spec/v2.md §3.5 on a fresh member: same statuses,
// bodies and X-Etcd-Index as etcd 3.5 (whose fresh store is at index 3).
func TestKeysBytes(t *testing.T) {
	s, u := startMember(t)
	for _, step := range []struct {
		method, path, form string
		status             int
		body               string
		index              string
	}{
		{"GET", "/v2/keys/", "", 200, `{"action":"get","node":{"dir":true}}`, "3"},
		{"PUT", "/v2/keys/foo", "value=bar", 201, `{"action":"set","node":{"key":"/foo","value":"bar","modifiedIndex":4,"createdIndex":4}}`, "4"},
		{"PUT", "/v2/keys/foo", "value=baz", 200, `{"action":"set","node":{"key":"/foo","value":"baz","modifiedIndex":5,"createdIndex":5},"prevNode":{"key":"/foo","value":"bar","modifiedIndex":4,"createdIndex":4}}`, "5"},
		{"GET", "/v2/keys/nokey", "", 404, `{"errorCode":100,"message":"Key not found","cause":"/nokey","index":5}`, "5"},
		{"PUT", "/v2/keys/dir1/a", "value=1", 201, `{"action":"set","node":{"key":"/dir1/a","value":"1","modifiedIndex":6,"createdIndex":6}}`, "6"},
		{"PUT", "/v2/keys/dir1/b/c", "value=2", 201, `{"action":"set","node":{"key":"/dir1/b/c","value":"2","modifiedIndex":7,"createdIndex":7}}`, "7"},
		{"PUT", "/v2/keys/dir1/_hidden", "value=h", 201, `{"action":"set","node":{"key":"/dir1/_hidden","value":"h","modifiedIndex":8,"createdIndex":8}}`, "8"},
		{"GET", "/v2/keys/dir1", "", 200, `{"action":"get","node":{"key":"/dir1","dir":true,"nodes":[{"key":"/dir1/a","value":"1","modifiedIndex":6,"createdIndex":6},{"key":"/dir1/b","dir":true,"modifiedIndex":7,"createdIndex":7}],"modifiedIndex":6,"createdIndex":6}}`, "8"},
		{"GET", "/v2/keys/dir1?recursive=true&sorted=true&quorum=true", "", 200, `{"action":"get","node":{"key":"/dir1","dir":true,"nodes":[{"key":"/dir1/a","value":"1","modifiedIndex":6,"createdIndex":6},{"key":"/dir1/b","dir":true,"nodes":[{"key":"/dir1/b/c","value":"2","modifiedIndex":7,"createdIndex":7}],"modifiedIndex":7,"createdIndex":7}],"modifiedIndex":6,"createdIndex":6}}`, "8"},
		{"PUT", "/v2/keys/emptydir?dir=true", "", 201, `{"action":"set","node":{"key":"/emptydir","dir":true,"modifiedIndex":9,"createdIndex":9}}`, "9"},
		{"PUT", "/v2/keys/emptydir", "dir=true", 403, `{"errorCode":102,"message":"Not a file","cause":"/emptydir","index":9}`, "9"},
		{"PUT", "/v2/keys/", "value=x", 400, `{"errorCode":107,"message":"Root is read only","cause":"/","index":9}`, "9"},
		{"PUT", "/v2/keys/c1", "value=a&prevExist=false", 201, `{"action":"create","node":{"key":"/c1","value":"a","modifiedIndex":10,"createdIndex":10}}`, "10"},
		{"PUT", "/v2/keys/c1", "value=b&prevExist=false", 412, `{"errorCode":105,"message":"Key already exists","cause":"/c1","index":10}`, "10"},
		{"PUT", "/v2/keys/c1", "value=b&prevExist=true", 200, `{"action":"update","node":{"key":"/c1","value":"b","modifiedIndex":11,"createdIndex":10},"prevNode":{"key":"/c1","value":"a","modifiedIndex":10,"createdIndex":10}}`, "11"},
		{"PUT", "/v2/keys/c1", "value=d&prevValue=zz", 412, `{"errorCode":101,"message":"Compare failed","cause":"[zz != b]","index":11}`, "11"},
		{"PUT", "/v2/keys/c1", "value=d&prevIndex=1", 412, `{"errorCode":101,"message":"Compare failed","cause":"[1 != 11]","index":11}`, "11"},
		{"PUT", "/v2/keys/c1", "value=d&prevIndex=5&prevValue=zz", 412, `{"errorCode":101,"message":"Compare failed","cause":"[zz != b] [5 != 11]","index":11}`, "11"},
		{"PUT", "/v2/keys/c1", "value=c&prevIndex=11", 200, `{"action":"compareAndSwap","node":{"key":"/c1","value":"c","modifiedIndex":12,"createdIndex":10},"prevNode":{"key":"/c1","value":"b","modifiedIndex":11,"createdIndex":10}}`, "12"},
		{"POST", "/v2/keys/c1", "value=x", 400, `{"errorCode":104,"message":"Not a directory","cause":"/c1","index":12}`, "12"},
		{"DELETE", "/v2/keys/dir1", "", 403, `{"errorCode":102,"message":"Not a file","cause":"/dir1","index":12}`, "12"},
		{"DELETE", "/v2/keys/dir1?dir=true", "", 403, `{"errorCode":108,"message":"Directory not empty","cause":"/dir1","index":12}`, "12"},
		{"DELETE", "/v2/keys/dir1?recursive=true", "", 200, `{"action":"delete","node":{"key":"/dir1","dir":true,"modifiedIndex":13,"createdIndex":6},"prevNode":{"key":"/dir1","dir":true,"modifiedIndex":6,"createdIndex":6}}`, "13"},
		{"DELETE", "/v2/keys/c1?prevValue=c", "", 200, `{"action":"compareAndDelete","node":{"key":"/c1","modifiedIndex":14,"createdIndex":10},"prevNode":{"key":"/c1","value":"c","modifiedIndex":12,"createdIndex":10}}`, "14"},
		{"DELETE", "/v2/keys/?prevValue=x", "", 403, `{"errorCode":102,"message":"Not a file","index":14}`, "14"},
		{"PUT", "/v2/keys/nv?noValueOnSuccess=true", "value=1", 201, `{"action":"set"}`, "15"},
		{"PUT", "/v2/keys/esc", "value=%3Ca%26b%3E", 201, `{"action":"set","node":{"key":"/esc","value":"\u003ca\u0026b\u003e","modifiedIndex":16,"createdIndex":16}}`, "16"},
		{"PUT", "/v2/keys/q1", "", 201, `{"action":"set","node":{"key":"/q1","value":"","modifiedIndex":17,"createdIndex":17}}`, "17"},
		// Validation errors: index 0, before the store.
		{"PUT", "/v2/keys/t", "ttl=abc&value=v2", 400, `{"errorCode":202,"message":"The given TTL in POST form is not a number","cause":"invalid value for \"ttl\"","index":0}`, "0"},
		{"PUT", "/v2/keys/t", "ttl=-5", 400, `{"errorCode":202,"message":"The given TTL in POST form is not a number","cause":"invalid value for \"ttl\"","index":0}`, "0"},
		{"PUT", "/v2/keys/t", "prevIndex=x&ttl=abc", 400, `{"errorCode":203,"message":"The given index in POST form is not a number","cause":"invalid value for \"prevIndex\"","index":0}`, "0"},
		{"GET", "/v2/keys/t?wait=true&waitIndex=-1", "", 400, `{"errorCode":203,"message":"The given index in POST form is not a number","cause":"invalid value for \"waitIndex\"","index":0}`, "0"},
		{"PUT", "/v2/keys/t", "value=d&prevExist=yes", 400, `{"errorCode":209,"message":"Invalid field","cause":"invalid value for prevExist","index":0}`, "0"},
		{"GET", "/v2/keys/t?recursive=yes", "", 400, `{"errorCode":209,"message":"Invalid field","cause":"invalid value for \"recursive\"","index":0}`, "0"},
		{"GET", "/v2/keys/t?sorted=", "", 400, `{"errorCode":209,"message":"Invalid field","cause":"invalid value for \"sorted\"","index":0}`, "0"},
		{"PUT", "/v2/keys/t?wait=true", "value=1", 400, `{"errorCode":209,"message":"Invalid field","cause":"\"wait\" can only be used with GET requests","index":0}`, "0"},
		{"PUT", "/v2/keys/t", "value=%zz", 400, `{"errorCode":210,"message":"Invalid POST form","cause":"invalid URL escape \"%zz\"","index":0}`, "0"},
		{"PUT", "/v2/keys/t", "ttl=5&refresh=true&value=x", 400, `{"errorCode":211,"message":"Value provided on refresh","cause":"A value was provided on a refresh","index":0}`, "0"},
		{"PUT", "/v2/keys/t", "refresh=true", 400, `{"errorCode":212,"message":"A TTL must be provided on refresh","cause":"No TTL value set","index":0}`, "0"},
		{"PUT", "/v2/keys/t", "refresh=maybe", 400, `{"errorCode":209,"message":"Invalid field","cause":"invalid value for refresh","index":0}`, "0"},
		{"DELETE", "/v2/keys/t?prevValue=", "", 400, `{"errorCode":201,"message":"PrevValue is Required in POST form","cause":"\"prevValue\" cannot be empty","index":0}`, "0"},
		{"PUT", "/v2/keys/t", "noValueOnSuccess=2", 400, `{"errorCode":209,"message":"Invalid field","cause":"invalid value for \"noValueOnSuccess\"","index":0}`, "0"},
		// The body wins over the query.
		{"PUT", "/v2/keys/bw?value=query", "value=body", 201, `{"action":"set","node":{"key":"/bw","value":"body","modifiedIndex":18,"createdIndex":18}}`, "18"},
	} {
		r := do(t, step.method, u, step.path, step.form)
		if r.status != step.status || r.body != step.body+"\n" || r.header.Get("X-Etcd-Index") != step.index {
			t.Fatalf("%s %s %s:\ngot  %d %s %q\nwant %d %s %q", step.method, step.path, step.form,
				r.status, r.header.Get("X-Etcd-Index"), r.body, step.status, step.index, step.body+"\n")
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %s: Content-Type %q", step.method, step.path, ct)
		}
		if got, want := r.header.Get("X-Etcd-Cluster-Id"), s.ClusterID().String(); got != want {
			t.Fatalf("%s %s: X-Etcd-Cluster-Id %q, want %q", step.method, step.path, got, want)
		}
		_, raft := r.header["X-Raft-Index"]
		if raft != (r.status < 300) {
			t.Fatalf("%s %s: X-Raft-Index present=%v on %d", step.method, step.path, raft, r.status)
		}
	}
	// A JSON body is ignored, as etcd ignores it.
	req, _ := http.NewRequest("PUT", u+"/v2/keys/j", strings.NewReader(`{"value":"json"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	do(t, "GET", u, "/v2/keys/j", "").check(t, 200, `{"action":"get","node":{"key":"/j","value":"","modifiedIndex":19,"createdIndex":19}}`+"\n")
	// HEAD: the headers of a GET, no body.
	r := do(t, "HEAD", u, "/v2/keys/j", "")
	if r.status != 200 || r.body != "" || r.header.Get("X-Etcd-Index") != "19" || r.header.Get("Content-Length") == "" {
		t.Fatalf("HEAD: %d %q %v", r.status, r.body, r.header)
	}
	// An unknown method.
	r = do(t, "PATCH", u, "/v2/keys/j", "")
	r.check(t, 405, "Method Not Allowed\n")
	if r.header.Get("Allow") != "HEAD,GET,PUT,POST,DELETE" {
		t.Fatalf("Allow: %q", r.header.Get("Allow"))
	}
	do(t, "GET", u, "/v2/nothing", "").check(t, 404, "404 page not found\n")
}

func TestKeysClient(t *testing.T) {
	_, u := startMember(t)
	kapi := keysAPI(t, u)
	c := ctx(t)
	codeOf := func(err error) int {
		var ce client.Error
		if !errors.As(err, &ce) {
			t.Fatalf("not a client.Error: %v", err)
		}
		return ce.Code
	}
	if _, err := kapi.Set(c, "/k", "v1", nil); err != nil {
		t.Fatal(err)
	}
	r, err := kapi.Set(c, "/k", "v2", &client.SetOptions{PrevValue: "v1"})
	if err != nil || r.Action != "compareAndSwap" || r.PrevNode.Value != "v1" {
		t.Fatalf("CAS: %+v %v", r, err)
	}
	if _, err := kapi.Set(c, "/k", "v3", &client.SetOptions{PrevValue: "nope"}); codeOf(err) != client.ErrorCodeTestFailed {
		t.Fatalf("CAS mismatch: %v", err)
	}
	if _, err := kapi.Set(c, "/k", "v3", &client.SetOptions{PrevIndex: r.Node.ModifiedIndex}); err != nil {
		t.Fatalf("CAS by index %d: %v", r.Node.ModifiedIndex, err)
	}
	if _, err := kapi.Create(c, "/k", "x"); codeOf(err) != client.ErrorCodeNodeExist {
		t.Fatalf("create over a key: %v", err)
	}
	if _, err := kapi.Update(c, "/missing", "x"); codeOf(err) != client.ErrorCodeKeyNotFound {
		t.Fatalf("update of a missing key: %v", err)
	}
	if _, err := kapi.Delete(c, "/k", &client.DeleteOptions{PrevValue: "nope"}); codeOf(err) != client.ErrorCodeTestFailed {
		t.Fatalf("CAD mismatch: %v", err)
	}
	if _, err := kapi.Delete(c, "/k", &client.DeleteOptions{PrevValue: "v3"}); err != nil {
		t.Fatalf("CAD: %v", err)
	}
	// In-order keys come back in order.
	var keys []string
	for _, v := range []string{"a", "b", "c"} {
		r, err := kapi.CreateInOrder(c, "/queue", v, nil)
		if err != nil || r.Action != "create" {
			t.Fatalf("in-order: %+v %v", r, err)
		}
		keys = append(keys, r.Node.Key)
	}
	r, err = kapi.Get(c, "/queue", &client.GetOptions{Sort: true, Quorum: true})
	if err != nil || len(r.Node.Nodes) != 3 {
		t.Fatalf("get queue: %+v %v", r, err)
	}
	for i, n := range r.Node.Nodes {
		if n.Key != keys[i] || n.Value != []string{"a", "b", "c"}[i] {
			t.Fatalf("queue[%d] = %s=%s, want %s", i, n.Key, n.Value, keys[i])
		}
	}
	// TTL and refresh.
	r, err = kapi.Set(c, "/ttl", "v", &client.SetOptions{TTL: 100 * time.Second})
	if err != nil || r.Node.TTL != 100 || r.Node.Expiration == nil {
		t.Fatalf("ttl set: %+v %v", r.Node, err)
	}
	r, err = kapi.Set(c, "/ttl", "", &client.SetOptions{TTL: 200 * time.Second, Refresh: true, PrevExist: client.PrevExist})
	if err != nil || r.Action != "update" || r.Node.Value != "v" || r.Node.TTL != 200 {
		t.Fatalf("refresh: %+v %v", r, err)
	}
	// Dirs and a recursive delete.
	if _, err := kapi.Set(c, "/d/x/y", "1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kapi.Delete(c, "/d", nil); codeOf(err) != client.ErrorCodeNotFile {
		t.Fatalf("delete of a dir: %v", err)
	}
	r, err = kapi.Get(c, "/d", &client.GetOptions{Recursive: true})
	if err != nil || !r.Node.Dir || r.Node.Nodes[0].Nodes[0].Key != "/d/x/y" {
		t.Fatalf("recursive get: %+v %v", r, err)
	}
	if _, err := kapi.Delete(c, "/d", &client.DeleteOptions{Recursive: true}); err != nil {
		t.Fatal(err)
	}
	// A key with a short TTL expires through the leader's time ticks.
	if _, err := kapi.Set(c, "/short", "v", &client.SetOptions{TTL: time.Second}); err != nil {
		t.Fatal(err)
	}
	w := kapi.Watcher("/short", nil)
	ev, err := w.Next(c)
	if err != nil || ev.Action != "expire" || ev.PrevNode.Value != "v" {
		t.Fatalf("expire: %+v %v", ev, err)
	}
}

func TestWatch(t *testing.T) {
	_, u := startMember(t)
	kapi := keysAPI(t, u)
	c := ctx(t)
	r1, err := kapi.Set(c, "/w/a", "1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kapi.Set(c, "/w/b", "2", nil); err != nil {
		t.Fatal(err)
	}
	// From the history, recursive, from the first set's index.
	w := kapi.Watcher("/w", &client.WatcherOptions{AfterIndex: r1.Node.ModifiedIndex - 1, Recursive: true})
	for _, want := range []string{"/w/a", "/w/b"} {
		ev, err := w.Next(c)
		if err != nil || ev.Node.Key != want {
			t.Fatalf("history watch: %+v %v, want %s", ev, err, want)
		}
	}
	// A live wait.
	done := make(chan *client.Response, 1)
	go func() {
		ev, err := w.Next(c)
		if err != nil {
			t.Error(err)
		}
		done <- ev
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := kapi.Set(c, "/w/c", "3", nil); err != nil {
		t.Fatal(err)
	}
	if ev := <-done; ev == nil || ev.Node.Key != "/w/c" || ev.Action != "set" {
		t.Fatalf("live watch: %+v", ev)
	}
	// Raw: a wait served from the history answers the watch-start index.
	r := do(t, "GET", u, "/v2/keys/w/a?wait=true&waitIndex=4", "")
	r.check(t, 200, `{"action":"set","node":{"key":"/w/a","value":"1","modifiedIndex":4,"createdIndex":4}}`+"\n")
	if r.header.Get("X-Etcd-Index") != "6" {
		t.Fatalf("watch X-Etcd-Index %q", r.header.Get("X-Etcd-Index"))
	}
	// quorum wins over wait.
	do(t, "GET", u, "/v2/keys/w/a?wait=true&quorum=true", "").check(t, 200, `{"action":"get","node":{"key":"/w/a","value":"1","modifiedIndex":4,"createdIndex":4}}`+"\n")
	// A watch that never fires ends when the client goes away.
	cc, cancel := context.WithCancel(c)
	req, _ := http.NewRequestWithContext(cc, "GET", u+"/v2/keys/never?wait=true", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("X-Etcd-Index") != "6" {
		t.Fatalf("long poll headers: %d %v", resp.StatusCode, resp.Header)
	}
	cancel()
	resp.Body.Close()
}

func TestWatchStream(t *testing.T) {
	_, u := startMember(t)
	kapi := keysAPI(t, u)
	c := ctx(t)
	req, _ := http.NewRequestWithContext(c, "GET", u+"/v2/keys/s?wait=true&stream=true&recursive=true", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, k := range []string{"/s/1", "/s/2", "/s/3"} {
		if _, err := kapi.Set(c, k, "v", nil); err != nil {
			t.Fatal(err)
		}
	}
	sc := bufio.NewScanner(resp.Body)
	for i, want := range []string{
		`{"action":"set","node":{"key":"/s/1","value":"v","modifiedIndex":4,"createdIndex":4}}`,
		`{"action":"set","node":{"key":"/s/2","value":"v","modifiedIndex":5,"createdIndex":5}}`,
		`{"action":"set","node":{"key":"/s/3","value":"v","modifiedIndex":6,"createdIndex":6}}`,
	} {
		if !sc.Scan() || sc.Text() != want {
			t.Fatalf("stream line %d: %q (%v), want %q", i, sc.Text(), sc.Err(), want)
		}
	}
}

func TestWatchHistoryCleared(t *testing.T) {
	_, u := startMember(t)
	kapi := keysAPI(t, u)
	c := ctx(t)
	for range 1003 {
		if _, err := kapi.Set(c, "/bulk", "v", nil); err != nil {
			t.Fatal(err)
		}
	}
	// Index 1006 now; the oldest kept event is 1006-1000+1 = 7.
	r := do(t, "GET", u, "/v2/keys/bulk?wait=true&waitIndex=5", "")
	r.check(t, 400, `{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [7/5]","index":1006}`+"\n")
	if r.header.Get("X-Etcd-Index") != "1006" {
		t.Fatalf("X-Etcd-Index %q", r.header.Get("X-Etcd-Index"))
	}
}

// Updating a directory's TTL works (etcd 3.5 answers an error here, etcd
// issue 13589; Larch does what etcd 2.3 did).
func TestUpdateDirTTL(t *testing.T) {
	_, u := startMember(t)
	do(t, "PUT", u, "/v2/keys/d", "dir=true").check(t, 201, `{"action":"set","node":{"key":"/d","dir":true,"modifiedIndex":4,"createdIndex":4}}`+"\n")
	r := do(t, "PUT", u, "/v2/keys/d", "dir=true&prevExist=true&ttl=100")
	if r.status != 200 || !strings.Contains(r.body, `"action":"update"`) || !strings.Contains(r.body, `"ttl":100`) {
		t.Fatalf("updating the dir's TTL: %d %s", r.status, r.body)
	}
	r = do(t, "GET", u, "/v2/keys/d", "")
	if r.status != 200 || !strings.Contains(r.body, `"ttl":`) || !strings.Contains(r.body, `"expiration":`) {
		t.Fatalf("the dir after the update: %d %s", r.status, r.body)
	}
}
