package v2api_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const authMatrixGolden = "../testdata/v2api/auth_matrix.golden"

var (
	updateMatrix = flag.Bool("update", false, "record "+authMatrixGolden+" from $"+matrixEndpointVar+" (etcd 3.5.21)")
	// matrixEndpointVar names the server to run against instead of a Larch
	// member: the etcd that -update records, or any server to compare.
	matrixEndpointVar = "LARCH_V2_AUTH_MATRIX_ENDPOINT"
)

// TestAuthMatrix is issue 6's permission matrix for the v2 API. With auth
// on, each row (one request to a v2 endpoint: /v2/keys reads, watches and
// writes, /v2/members, /v2/machines, /v2/stats/*, /version, /health and
// every /v2/auth endpoint) is sent by each caller in turn, and every answer
// must match etcd 3.5.21's, kept in the golden as
// "<METHOD> <path> [<body>] <caller>: <status> [<headers>] <body>" (see
// outcome for what is normalised).
//
// Callers: none (no credentials, hence the guest role: read /pub/* and
// /exact, write /pub/*), malformed (an Authorization header that is not
// basic), wrongpw (root with a wrong password), unknown (no such user),
// carol (no roles), bob (ro: read /app/* and /exact), alice (rw: read and
// write /app/*), root.
//
// newAuthMatrixFixture sets everything up through the v2 API while auth is
// off, then enables it with PUT /v2/auth/enable. A row that changes state
// works on its own name per caller (/app/put-<caller>, user del-<caller>),
// so callers do not see each other's changes; DELETE /v2/auth/enable is
// the last row.
//
// Only etcd writes the golden. Record it from a fresh etcd 3.5.21:
//
//	d=$(mktemp -d)
//	/tmp/etcd35/bin/etcd --enable-v2 --name m1 --data-dir $d/m1 --log-level error \
//	    --listen-client-urls http://127.0.0.1:42379 --advertise-client-urls http://127.0.0.1:42379 \
//	    --listen-peer-urls http://127.0.0.1:42380 --initial-advertise-peer-urls http://127.0.0.1:42380 \
//	    --initial-cluster m1=http://127.0.0.1:42380 &
//	LARCH_V2_AUTH_MATRIX_ENDPOINT=http://127.0.0.1:42379 GOTOOLCHAIN=local go test ./v2api -run 'TestAuthMatrix$' -update -count=1
//	kill %1; rm -rf $d
//
// The variable without -update checks that server against the golden.
func TestAuthMatrix(t *testing.T) {
	endpoint := os.Getenv(matrixEndpointVar)
	switch {
	case endpoint == "" && *updateMatrix:
		t.Fatalf("-update records etcd 3.5.21's answers: set %s to its client URL", matrixEndpointVar)
	case endpoint == "":
		_, endpoint = startMember(t)
	}
	fx := newAuthMatrixFixture(t, endpoint)
	var got []string
	for _, row := range fx.rows() {
		for _, c := range matrixCallers {
			r := fx.call(c, row.method, fx.expand(row.path, c), row.ctype, fx.expand(row.body, c))
			got = append(got, row.name()+" "+c.name+": "+fx.outcome(row, r))
		}
	}
	if !*updateMatrix {
		checkAuthMatrix(t, got)
		return
	}
	var version struct{ Etcdserver string }
	json.Unmarshal([]byte(fx.call(matrixCallers[0], "GET", "/version", "", "").body), &version)
	header := "# TestAuthMatrix (v2api/auth_matrix_test.go), recorded from etcd " + version.Etcdserver + "; regenerate as its doc comment says."
	if err := os.WriteFile(authMatrixGolden, []byte(strings.Join(append([]string{header}, got...), "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// larchDiffers are Larch's own answers to some rows, by row and caller,
// where it differs from etcd 3.5.21 on purpose.
var larchDiffers = func() map[string]string {
	m := map[string]string{}
	for _, c := range matrixCallers {
		// /version is v3api's and answers as etcd 3.6 does, with the
		// storage version etcd 3.5 lacks. Open to everyone in both.
		m["GET /version "+c.name] = "200 [ct=application/json] keys etcdcluster,etcdserver,storage"
	}
	return m
}()

// checkAuthMatrix compares the outcomes with the golden's, line by line: a
// line of larchDiffers passes with Larch's own answer (and is reported once
// etcd's answer is the same, so that it goes).
func checkAuthMatrix(t *testing.T, got []string) {
	t.Helper()
	data, err := os.ReadFile(authMatrixGolden)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if !strings.HasPrefix(line, "#") {
			want = append(want, line)
		}
	}
	if len(want) != len(got) {
		t.Errorf("%d outcomes, the golden has %d", len(got), len(want))
	}
	bad := 0
	for i := range min(len(got), len(want)) {
		row, answer, _ := strings.Cut(got[i], ": ")
		larch, known := larchDiffers[row]
		switch {
		case known && want[i] == row+": "+larch:
			t.Errorf("%s: etcd answers as Larch now; drop it from larchDiffers", row)
		case known && answer == larch:
		case got[i] != want[i]:
			bad++
			t.Errorf("line %d differs:\n\tgot  %s\n\twant %s", i+2, got[i], want[i])
		}
	}
	if bad > 0 {
		t.Logf("%d of %d outcomes differ from %s (etcd 3.5.21)", bad, len(got), authMatrixGolden)
	}
}

// matrixCaller is one column of the matrix.
type matrixCaller struct {
	name string
	// authorization is the Authorization header; "" sends none.
	authorization string
}

func basic(user, password string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, password)
	return req.Header.Get("Authorization")
}

var matrixCallers = []matrixCaller{
	{"none", ""},
	{"malformed", "Basic !!!"},
	{"wrongpw", basic("root", "wrong")},
	{"unknown", basic("nobody", "pw")},
	{"carol", basic("carol", "carolpw")},
	{"bob", basic("bob", "bobpw")},
	{"alice", basic("alice", "alicepw")},
	{"root", basic("root", "rootpw")},
}

// matrixRow is one request. In path and body, <caller> stands for the
// caller's name, <peer> for the member's peer URL, <app-index> and
// <pub-index> for the store indexes that made /app/x and /pub/p; ctype is
// the Content-Type of a body.
type matrixRow struct {
	method, path, ctype, body string
	// keysOnly records a JSON body as its sorted top-level keys: the values
	// (times, counters, versions) differ from run to run and server to
	// server.
	keysOnly bool
}

// name is the row's part of a golden line: the method, the path and the
// body, if any.
func (row matrixRow) name() string {
	if row.body == "" {
		return row.method + " " + row.path
	}
	return row.method + " " + row.path + " " + row.body
}

type authMatrixFixture struct {
	t        *testing.T
	endpoint string
	client   *http.Client
	// Store indexes to watch from: the creation of /app/x and of /pub/p.
	appIndex, pubIndex uint64
	peerURL            string
	replacer           *strings.Replacer
}

// expand replaces the placeholders of a row's path or body.
func (fx *authMatrixFixture) expand(s string, c matrixCaller) string {
	return strings.NewReplacer("<caller>", c.name, "<peer>", fx.peerURL,
		"<app-index>", fmt.Sprint(fx.appIndex), "<pub-index>", fmt.Sprint(fx.pubIndex)).Replace(s)
}

const (
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json"
)

// newAuthMatrixFixture makes the keys, users and roles through the v2 API
// while auth is off, then turns auth on.
func newAuthMatrixFixture(t *testing.T, endpoint string) *authMatrixFixture {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	fx := &authMatrixFixture{t: t, endpoint: endpoint, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	none := matrixCallers[0]
	setup := func(method, p, ctype, body string, status ...int) matrixResponse {
		t.Helper()
		r := fx.call(none, method, p, ctype, body)
		if !slices.Contains(status, r.status) {
			t.Fatalf("setup: %s %s %s: %d %s", method, p, body, r.status, r.body)
		}
		return r
	}
	index := func(r matrixResponse) uint64 {
		t.Helper()
		var ev struct{ Node struct{ CreatedIndex uint64 } }
		if err := json.Unmarshal([]byte(r.body), &ev); err != nil || ev.Node.CreatedIndex == 0 {
			t.Fatalf("setup: no createdIndex in %s: %v", r.body, err)
		}
		return ev.Node.CreatedIndex
	}

	fx.appIndex = index(setup("PUT", "/v2/keys/app/x", formType, "value=1", 201))
	setup("PUT", "/v2/keys/app/d/y", formType, "value=2", 201)
	fx.pubIndex = index(setup("PUT", "/v2/keys/pub/p", formType, "value=3", 201))
	setup("PUT", "/v2/keys/exact", formType, "value=4", 201)
	setup("PUT", "/v2/keys/other/z", formType, "value=5", 201)
	for _, c := range matrixCallers {
		for _, dir := range []string{"app", "pub", "other"} {
			setup("PUT", "/v2/keys/"+dir+"/del-"+c.name, formType, "value=d", 201)
		}
		setup("PUT", "/v2/keys/app/rdir-"+c.name+"/k", formType, "value=r", 201)
		setup("PUT", "/v2/keys/app/cas-"+c.name, formType, "value=old", 201)
	}

	role := func(name, read, write string) {
		t.Helper()
		setup("PUT", "/v2/auth/roles/"+name, jsonType,
			fmt.Sprintf(`{"role":%q,"permissions":{"kv":{"read":%s,"write":%s}}}`, name, read, write), 201)
	}
	role("guest", `["/pub/*","/exact"]`, `["/pub/*"]`)
	role("ro", `["/app/*","/exact"]`, `[]`)
	role("rw", `["/app/*"]`, `["/app/*"]`)
	user := func(name, password string, roles ...string) {
		t.Helper()
		setup("PUT", "/v2/auth/users/"+name, jsonType, fmt.Sprintf(`{"user":%q,"password":%q}`, name, password), 201)
		if len(roles) > 0 {
			b, _ := json.Marshal(roles)
			setup("PUT", "/v2/auth/users/"+name, jsonType, fmt.Sprintf(`{"user":%q,"grant":%s}`, name, b), 200)
		}
	}
	user("root", "rootpw")
	user("carol", "carolpw")
	user("bob", "bobpw", "ro")
	user("alice", "alicepw", "rw")
	for _, c := range matrixCallers {
		for _, u := range []string{"del-", "pw-", "grant-"} {
			user(u+c.name, "pw")
		}
		user("revoke-"+c.name, "pw", "ro")
		role("delrole-"+c.name, "null", "null")
		role("gprole-"+c.name, `["/g0"]`, "null")
		role("rprole-"+c.name, `["/x/*","/y"]`, `["/x/*"]`)
	}

	var members struct {
		Members []struct {
			ID         string
			PeerURLs   []string
			ClientURLs []string
		}
	}
	if err := json.Unmarshal([]byte(setup("GET", "/v2/members", "", "", 200).body), &members); err != nil || len(members.Members) != 1 {
		t.Fatalf("setup: want one member: %v %v", members, err)
	}
	m := members.Members[0]
	fx.peerURL = m.PeerURLs[0]
	cid := setup("GET", "/v2/members", "", "", 200).header.Get("X-Etcd-Cluster-Id")
	fx.replacer = strings.NewReplacer(m.PeerURLs[0], "<peer>", m.ClientURLs[0], "<client>", m.ID, "<member>", cid, "<cluster>")

	setup("PUT", "/v2/auth/enable", "", "", 200)
	return fx
}

// matrixResponse is one answer.
type matrixResponse struct {
	status int
	header http.Header
	body   string
}

func (fx *authMatrixFixture) call(c matrixCaller, method, p, ctype, body string) matrixResponse {
	fx.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, fx.endpoint+p, rd)
	if err != nil {
		fx.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.authorization != "" {
		req.Header.Set("Authorization", c.authorization)
	}
	resp, err := fx.client.Do(req)
	if err != nil {
		fx.t.Fatalf("%s %s as %s: %v", method, p, c.name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		fx.t.Fatalf("%s %s as %s: %v", method, p, c.name, err)
	}
	return matrixResponse{resp.StatusCode, resp.Header, string(b)}
}

var (
	reIndexes = regexp.MustCompile(`"(createdIndex|modifiedIndex|index)":[1-9]\d*`)
	reInOrder = regexp.MustCompile(`/\d{20}\b`)
)

// outcome is a call's cell: the status, the headers that matter (the
// Content-Type, whether the cluster ID is sent, X-Etcd-Index as 0 or n,
// Allow) and the body, normalised: store indexes other than 0 become <n>
// (etcd keeps its v2 auth data in the v2 store, which moves its index), in-
// order keys <seq>, the member's ID and addresses placeholders. A trailing
// newline shows as ⏎.
func (fx *authMatrixFixture) outcome(row matrixRow, r matrixResponse) string {
	var hs []string
	if ct := r.header.Get("Content-Type"); ct != "" {
		hs = append(hs, "ct="+ct)
	}
	if r.header.Get("X-Etcd-Cluster-Id") != "" {
		hs = append(hs, "cid")
	}
	if idx, ok := r.header["X-Etcd-Index"]; ok {
		if idx[0] == "0" {
			hs = append(hs, "idx=0")
		} else {
			hs = append(hs, "idx=n")
		}
	}
	if allow := r.header.Get("Allow"); allow != "" {
		hs = append(hs, "allow="+allow)
	}
	body := r.body
	if row.keysOnly && r.status == http.StatusOK {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(body), &m); err == nil {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			body = "keys " + strings.Join(keys, ",")
		}
	}
	body = fx.replacer.Replace(body)
	body = reIndexes.ReplaceAllString(body, `"$1":<n>`)
	body = reInOrder.ReplaceAllString(body, "/<seq>")
	body = strings.ReplaceAll(strings.TrimSuffix(body, "\n"), "\n", `\n`)
	if strings.HasSuffix(r.body, "\n") {
		body += "⏎"
	}
	return fmt.Sprintf("%d [%s] %s", r.status, strings.Join(hs, " "), body)
}

func (fx *authMatrixFixture) rows() []matrixRow {
	var rows []matrixRow
	add := func(method, p, ctype, body string) {
		rows = append(rows, matrixRow{method: method, path: p, ctype: ctype, body: body})
	}
	get := func(p string) { add("GET", p, "", "") }

	// Keys: reads. The access key is the raw path: /app is not /app/.
	for _, p := range []string{
		"/v2/keys/app/x", "/v2/keys/app?sorted=true", "/v2/keys/app/?sorted=true", "/v2/keys/app/?recursive=true&sorted=true",
		"/v2/keys/app?recursive=true&sorted=true", "/v2/keys/app/d?recursive=true", "/v2/keys/exact", "/v2/keys/exact?recursive=true",
		"/v2/keys/pub/p", "/v2/keys/pub?recursive=true&sorted=true", "/v2/keys/pub/?recursive=true&sorted=true", "/v2/keys/other/z",
		"/v2/keys?sorted=true", "/v2/keys/?sorted=true",
		"/v2/keys/app/nope", "/v2/keys/app/x?quorum=true", "/v2/keys/app/x?recursive=yes",
		// Watches from an index in the history answer at once.
		"/v2/keys/app/x?wait=true&waitIndex=<app-index>",
		"/v2/keys/app/?wait=true&recursive=true&waitIndex=<app-index>",
		"/v2/keys/app?wait=true&recursive=true&waitIndex=<app-index>",
		"/v2/keys/pub/p?wait=true&waitIndex=<pub-index>",
	} {
		get(p)
	}
	add("HEAD", "/v2/keys/app/x", "", "")
	add("PATCH", "/v2/keys/app/x", "", "")

	// Keys: writes.
	for _, dir := range []string{"app", "pub", "other"} {
		add("PUT", "/v2/keys/"+dir+"/put-<caller>", formType, "value=v")
	}
	add("PUT", "/v2/keys/exact", formType, "value=w")
	add("PUT", "/v2/keys/app/cas-<caller>", formType, "value=new&prevValue=old")
	add("PUT", "/v2/keys/app/x", formType, "value=v&prevIndex=abc")
	add("PUT", "/v2/keys/app/upd-<caller>", formType, "value=v&prevExist=true")
	add("PUT", "/v2/keys/app/dir-<caller>?dir=true", "", "")
	add("POST", "/v2/keys/app/q", formType, "value=v")
	add("POST", "/v2/keys/pub/q", formType, "value=v")
	for _, dir := range []string{"app", "pub", "other"} {
		add("DELETE", "/v2/keys/"+dir+"/del-<caller>", "", "")
	}
	add("DELETE", "/v2/keys/app/rdir-<caller>?recursive=true", "", "")
	add("DELETE", "/v2/keys/app/x?prevValue=nomatch", "", "")

	// Members: reads are open, changes need root. None of these changes
	// anything: a taken peer URL, an unknown ID.
	get("/v2/members")
	get("/v2/members/leader")
	get("/v2/members/nope")
	add("HEAD", "/v2/members", "", "")
	add("POST", "/v2/members", jsonType, `{"peerURLs":["<peer>"]}`)
	add("POST", "/v2/members", formType, "a=b")
	add("PUT", "/v2/members/7a7a7a", jsonType, `{"peerURLs":["http://127.0.0.1:1"]}`)
	add("DELETE", "/v2/members/7a7a7a", "", "")
	add("DELETE", "/v2/members", "", "")
	get("/v2/machines")

	// Never checked.
	rows = append(rows,
		matrixRow{method: "GET", path: "/v2/stats/self", keysOnly: true},
		matrixRow{method: "GET", path: "/v2/stats/leader"},
		matrixRow{method: "GET", path: "/v2/stats/store", keysOnly: true},
		matrixRow{method: "GET", path: "/version", keysOnly: true},
		matrixRow{method: "GET", path: "/health"},
	)

	// Auth: reads.
	for _, p := range []string{
		"/v2/auth/enable", "/v2/auth/users", "/v2/auth/users/", "/v2/auth/users/alice", "/v2/auth/users/root",
		"/v2/auth/users/nobody", "/v2/auth/roles", "/v2/auth/roles/rw", "/v2/auth/roles/root", "/v2/auth/roles/guest",
		"/v2/auth/roles/nope", "/v2/auth/users/a/b", "/v2/auth/roles/a/b",
	} {
		get(p)
	}
	add("POST", "/v2/auth/users", jsonType, `{}`)
	add("POST", "/v2/auth/users/alice", jsonType, `{}`)
	add("PUT", "/v2/auth/enable", "", "")

	// Auth: changes.
	add("PUT", "/v2/auth/users/new-<caller>", jsonType, `{"user":"new-<caller>","password":"pw"}`)
	add("PUT", "/v2/auth/users/withroles-<caller>", jsonType, `{"user":"withroles-<caller>","password":"pw","roles":["ro","nosuchrole"]}`)
	add("PUT", "/v2/auth/users/pw-<caller>", jsonType, `{"user":"pw-<caller>","password":"pw2"}`)
	add("PUT", "/v2/auth/users/grant-<caller>", jsonType, `{"user":"grant-<caller>","grant":["ro"]}`)
	add("PUT", "/v2/auth/users/revoke-<caller>", jsonType, `{"user":"revoke-<caller>","revoke":["ro"]}`)
	add("PUT", "/v2/auth/users/alice", jsonType, `{"user":"alice","grant":["rw"]}`)
	add("PUT", "/v2/auth/users/alice", jsonType, `{"user":"alice","revoke":["ro"]}`)
	add("PUT", "/v2/auth/users/alice", jsonType, `{"user":"alice","roles":["rw"],"grant":["ro"]}`)
	add("PUT", "/v2/auth/users/alice", jsonType, `{"user":"bob"}`)
	add("PUT", "/v2/auth/users/alice", jsonType, `not json`)
	add("PUT", "/v2/auth/users/nobody", jsonType, `{"user":"nobody","grant":["ro"]}`)
	add("PUT", "/v2/auth/users/bob", jsonType, `{"user":"bob"}`)
	add("PUT", "/v2/auth/users/empty-<caller>", jsonType, `{"user":"empty-<caller>"}`)
	add("DELETE", "/v2/auth/users/del-<caller>", "", "")
	add("DELETE", "/v2/auth/users/root", "", "")
	add("DELETE", "/v2/auth/users/nobody", "", "")
	add("PUT", "/v2/auth/roles/newrole-<caller>", jsonType, `{"role":"newrole-<caller>","permissions":{"kv":{"read":["/n/*","/m"],"write":null}}}`)
	add("PUT", "/v2/auth/roles/gprole-<caller>", jsonType, `{"role":"gprole-<caller>","grant":{"kv":{"read":["/g/*"]}}}`)
	add("PUT", "/v2/auth/roles/rprole-<caller>", jsonType, `{"role":"rprole-<caller>","revoke":{"kv":{"read":["/x/*"],"write":["/nothere"]}}}`)
	add("PUT", "/v2/auth/roles/rw", jsonType, `{"role":"rw","grant":{"kv":{"read":["/app/*"]}}}`)
	add("PUT", "/v2/auth/roles/rw", jsonType, `{"role":"rw","revoke":{"kv":{"read":["/nothere"]}}}`)
	add("PUT", "/v2/auth/roles/rw", jsonType, `{"role":"rw"}`)
	add("PUT", "/v2/auth/roles/rw", jsonType, `{"role":"rw","permissions":{"kv":{"read":["/a"]}},"grant":{"kv":{"read":["/b"]}}}`)
	add("PUT", "/v2/auth/roles/nope", jsonType, `{"role":"nope","grant":{"kv":{"read":["/b"]}}}`)
	add("PUT", "/v2/auth/roles/root", jsonType, `{"role":"root","grant":{"kv":{"read":["/b"]}}}`)
	add("PUT", "/v2/auth/roles/root", jsonType, `{"role":"root"}`)
	add("DELETE", "/v2/auth/roles/delrole-<caller>", "", "")
	add("DELETE", "/v2/auth/roles/root", "", "")
	add("DELETE", "/v2/auth/roles/nope", "", "")
	// Last: root, the last caller, turns auth off, and no row follows.
	add("DELETE", "/v2/auth/enable", "", "")
	return rows
}
