// The in-process CLI runs with larchctl's URL parsing (see cmd/larchctl/main.go).
//
//go:debug urlstrictcolons=0

package ctlv2

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	goldenfile "github.com/larchkv/larch/cmd/larchctl/internal/golden"
)

// The CLI test runs each case below in-process against a fake v2 server that answers
// with canned etcd 3.5 responses, and compares stdout, stderr and the exit code with
// testdata/larchctl/v2/cli.golden. The golden's bytes come from the real etcdctl 3.5.21
// run against the same fake server:
//
//	LARCH_V2_ETCDCTL=/path/to/etcdctl go test ./cmd/larchctl/ctlv2 -run TestCLI -update
//
// (The etcdctl binary must run ctlv2 whatever ETCDCTL_API says, or be etcdctl 3.5 itself;
// ETCDCTL_API=2 is set for it.)

var update = flag.Bool("update", false, "rewrite testdata/larchctl/v2/cli.golden by running $LARCH_V2_ETCDCTL")

type cliCase struct {
	args  string // split on spaces; "${URL}" is the fake server's URL
	env   []string
	stdin string
}

var cliCases = []cliCase{
	// help, version and usage errors
	{args: ""},
	{args: "--help"},
	{args: "-h"},
	{args: "help"},
	{args: "h get"},
	{args: "help nosuch"},
	{args: "nosuch"},
	{args: "-v"},
	{args: "--version"},
	{args: "--bogus get /file"},
	{args: "--timeout xyz get /file"},
	{args: "-o json --output simple get /file"},
	{args: "get --bogus /file"},
	{args: "set --ttl abc /file v"},
	{args: "rm --with-index x /file"},
	{args: "get -h"},
	{args: "ls --help"},
	{args: "set -h"},
	{args: "mk -h"},
	{args: "mkdir -h"},
	{args: "setdir -h"},
	{args: "update -h"},
	{args: "updatedir -h"},
	{args: "rm -h"},
	{args: "rmdir -h"},
	{args: "watch -h"},
	{args: "exec-watch -h"},
	{args: "cluster-health -h"},
	{args: "backup -h"},
	{args: "member"},
	{args: "member -h"},
	{args: "member help"},
	{args: "member help list"},
	{args: "member h add"},
	{args: "member nosuch"},
	{args: "member --bogus"},
	{args: "member list -h"},
	{args: "member add --bogus"},
	{args: "help member"},
	{args: "user"},
	{args: "user grant -h"},
	{args: "role grant -h"},
	{args: "auth"},

	// get and the output formats
	{args: "get /file"},
	{args: "-o extended get /file"},
	{args: "-o json get /file"},
	{args: "--output=extended get /ttl"},
	{args: "-o json get /ttl"},
	{args: "-o bogus get /file"},
	{args: "get /file --sort -q"},
	{args: "get /dir"},
	{args: "get /"},
	{args: "get /nope"},
	{args: "-o json get /nope"},
	{args: "get"},
	{args: "get /fail500"},
	{args: "get /badjson"},

	// ls
	{args: "ls /dir"},
	{args: "ls -r /dir"},
	{args: "ls -r -p /dir"},
	{args: "ls /dir -p --recursive"},
	{args: "ls /file"},
	{args: "ls"},
	{args: "-o json ls /dir"},
	{args: "-o extended ls -r /dir"},
	{args: "ls /nope"},

	// writes
	{args: "set /new v"},
	{args: "-o extended set /file v"},
	{args: "-o json set /file v"},
	{args: "set --ttl 5 --swap-with-value fv --swap-with-index 7 /file v"},
	{args: "set -- /file -v"},
	{args: "set /file", stdin: "from stdin\n"},
	{args: "set /file"},
	{args: "set"},
	{args: "mk /new v"},
	{args: "-o extended mk --in-order /dir v"},
	{args: "mk /nope2"},
	{args: "update /file v"},
	{args: "-o json update --ttl 9 /file v"},
	{args: "mkdir /newdir"},
	{args: "-o json mkdir /newdir"},
	{args: "-o extended mkdir --ttl 10 /newdir"},
	{args: "setdir /newdir"},
	{args: "updatedir /newdir"},
	{args: "-o json updatedir /newdir"},
	{args: "mkdir"},
	{args: "rm /file"},
	{args: "-o extended rm /file"},
	{args: "-o json rm /file"},
	{args: "rm --with-value fv /file"},
	{args: "-o extended rm --with-value fv /file"},
	{args: "rm -r /dir"},
	{args: "-o extended rm --dir /dir"},
	{args: "rmdir /dir"},
	{args: "rmdir"},
	{args: "rm /nope"},

	// watch and exec-watch
	{args: "watch /w"},
	{args: "-o extended watch /w"},
	{args: "-o json watch -r /w"},
	{args: "watch -f -r /w"},
	{args: "watch --after-index 5 /w"},
	{args: "watch"},
	{args: "exec-watch /w"},
	{args: "exec-watch -r /w -- true"},
	{args: "exec-watch true /w"},

	// member and cluster-health
	{args: "member list"},
	{args: "member list x"},
	{args: "member add m2 http://127.0.0.1:2390"},
	{args: "member add m2"},
	{args: "member remove 8e9e05c52164694d"},
	{args: "member remove default"},
	{args: "member remove 1234"},
	{args: "member update 8e9e05c52164694d http://127.0.0.1:2391,http://127.0.0.1:2392"},
	{args: "member update 1234 http://127.0.0.1:2391"},
	{args: "member add m3 http://127.0.0.1:2380"},
	{args: "member add m3 http://127.0.0.1:2500"},
	{args: "member add m3 notaurl"},
	{args: "member add m3 http://127.0.0.1:2501,http://127.0.0.1:2502"},
	{args: "member add m3 http://127.0.0.1:2501 extra"},
	{args: "member remove 2d1e3ab2c7e4a5b1"},
	{args: "member remove"},
	{args: "member update 8e9e05c52164694d http://127.0.0.1:2390"},
	{args: "member update 8e9e05c52164694d notaurl"},
	{args: "member update 2d1e3ab2c7e4a5b1 http://127.0.0.1:2391"},
	{args: "member update 8e9e05c52164694d"},
	{args: "cluster-health"},

	// endpoints and client flags
	{args: "--debug get /file"},
	{args: "--debug --no-sync set /file v"},
	{args: "--debug -o json watch /w"},
	{args: "--no-sync get /file"},
	{args: "--endpoint ${URL} get /file", env: []string{"ETCDCTL_ENDPOINTS="}},
	{args: "-C ${URL} get /file", env: []string{"ETCDCTL_ENDPOINTS="}},
	{args: "get /file", env: []string{"ETCDCTL_ENDPOINTS=", "ETCDCTL_PEERS=${URL}"}},
	{args: "get /file", env: []string{"ETCDCTL_ENDPOINTS=", "ETCDCTL_ENDPOINT=${URL}"}},
	{args: "--endpoints 127.0.0.1:1 get /file"},
	{args: "--endpoints http://127.0.0.1:1 get /file"},
	{args: "--endpoints http://127.0.0.1:1 --no-sync get /file"},
	{args: "--endpoints http://127.0.0.1:1 get"},
	{args: "--endpoints http://127.0.0.1:1 --no-sync set"},
	{args: "--endpoints http://127.0.0.1:1 cluster-health"},
	{args: "--endpoints http://127.0.0.1:1 member list"},
	{args: "-u alice:pw get /auth"},
	{args: "get /auth"},
	{args: "--cert-file /nonexistent/cert --key-file /nonexistent/key get /file"},
}

func TestCLI(t *testing.T) {
	srv := httptest.NewServer(fakeV2())
	defer srv.Close()
	ref := os.Getenv("LARCH_V2_ETCDCTL")
	if *update && ref == "" {
		t.Fatal("-update needs LARCH_V2_ETCDCTL, the etcdctl 3.5 binary whose output the golden records")
	}
	var out bytes.Buffer
	for _, tc := range cliCases {
		args := strings.Fields(strings.ReplaceAll(tc.args, "${URL}", srv.URL))
		environ := []string{"ETCDCTL_ENDPOINTS=" + srv.URL}
		for _, kv := range tc.env {
			environ = append(environ, strings.ReplaceAll(kv, "${URL}", srv.URL))
		}
		environ = dedupEnv(environ)
		var stdout, stderr bytes.Buffer
		var code int
		if *update {
			code = runReference(t, ref, args, environ, tc.stdin, &stdout, &stderr)
		} else {
			code = Run(Env{Args: args, Environ: environ, Stdin: strings.NewReader(tc.stdin), Stdout: &stdout, Stderr: &stderr})
		}
		fmt.Fprintf(&out, "$ %s\n", tc.args)
		if len(tc.env) > 0 {
			fmt.Fprintf(&out, "env %q\n", tc.env)
		}
		if tc.stdin != "" {
			fmt.Fprintf(&out, "< %q\n", tc.stdin)
		}
		port := strings.TrimPrefix(srv.URL, "http://127.0.0.1:")
		writeStream(&out, "|", bytes.ReplaceAll(stdout.Bytes(), []byte(port), []byte("<PORT>")))
		writeStream(&out, "2|", bytes.ReplaceAll(stderr.Bytes(), []byte(port), []byte("<PORT>")))
		fmt.Fprintf(&out, "exit %d\n\n", code)
	}
	golden := filepath.Join("..", "..", "..", "testdata", "larchctl", "v2", "cli.golden")
	goldenfile.Check(t, golden, out.Bytes(), *update, "etcdctl 3.5.21")
}

// dedupEnv keeps the last of duplicate variables and drops empty ones.
func dedupEnv(environ []string) []string {
	last := map[string]string{}
	var order []string
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if _, ok := last[k]; !ok {
			order = append(order, k)
		}
		last[k] = v
	}
	var out []string
	for _, k := range order {
		if last[k] != "" {
			out = append(out, k+"="+last[k])
		}
	}
	return out
}

func runReference(t *testing.T, bin string, args, environ []string, stdin string, stdout, stderr *bytes.Buffer) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{"ETCDCTL_API=2", "PATH=" + os.Getenv("PATH")}, environ...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %q: %v", bin, args, err)
	}
	return 0
}

func writeStream(w *bytes.Buffer, prefix string, b []byte) {
	if len(b) == 0 {
		return
	}
	if !utf8.Valid(b) || b[len(b)-1] != '\n' {
		fmt.Fprintf(w, "%s= %q\n", prefix, b)
		return
	}
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			fmt.Fprintf(w, "%s %s", prefix, line)
		}
	}
}

// fakeV2 answers like a one-member etcd 3.5 with v2 enabled, from canned bodies that do
// not depend on the request beyond its path, method and a few parameters.
func fakeV2() http.Handler {
	const member = `{"id":"8e9e05c52164694d","name":"default","peerURLs":["http://127.0.0.1:2380"],"clientURLs":["%s"]}`
	mux := http.NewServeMux()
	self := func(r *http.Request) string { return "http://" + r.Host }
	reply := func(w http.ResponseWriter, status int, index string, body string) {
		w.Header().Set("Content-Type", "application/json")
		if index != "" {
			w.Header().Set("X-Etcd-Index", index)
		}
		w.WriteHeader(status)
		fmt.Fprintln(w, body)
	}
	mux.HandleFunc("/v2/members", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			reply(w, 200, "", `{"members":[`+fmt.Sprintf(member, self(r))+`,{"id":"2d1e3ab2c7e4a5b1","name":"","peerURLs":["http://127.0.0.1:2390"],"clientURLs":[]}]}`)
		case http.MethodPost:
			// etcd's answers to a taken peer URL, to a refused
			// reconfiguration (an unstarted voter exists), and to an add.
			body, _ := io.ReadAll(r.Body)
			switch {
			case strings.Contains(string(body), "2380"):
				reply(w, 409, "", `{"message":"membership: peerURL exists"}`)
			case strings.Contains(string(body), "2500"):
				reply(w, 500, "", `{"message":"Internal Server Error"}`)
			default:
				reply(w, 201, "", `{"id":"2d1e3ab2c7e4a5b1","name":"","peerURLs":["http://127.0.0.1:2390"],"clientURLs":[]}`)
			}
		}
	})
	mux.HandleFunc("/v2/members/leader", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, "", fmt.Sprintf(member, self(r)))
	})
	mux.HandleFunc("/v2/members/", func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/v2/members/")
		body, _ := io.ReadAll(r.Body)
		switch {
		case id == "2d1e3ab2c7e4a5b1":
			// A removal the strict reconfiguration check refuses; for a
			// PUT, what etcd answers for a removed member.
			reply(w, 500, "", `{"message":"Internal Server Error"}`)
		case id != "8e9e05c52164694d":
			reply(w, 404, "", `{"message":"No such member: `+id+`"}`)
		case strings.Contains(string(body), "2390"):
			reply(w, 409, "", `{"message":"membership: peerURL exists"}`)
		default:
			w.WriteHeader(204)
		}
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, "", `{"health":"true","reason":""}`)
	})
	mux.HandleFunc("/v2/keys/", func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.URL.Path, "/v2/keys")
		q := r.URL.Query()
		r.ParseForm()
		value := r.PostForm.Get("value")
		notFound := func() {
			reply(w, 404, "12", `{"errorCode":100,"message":"Key not found","cause":"`+key+`","index":12}`)
		}
		switch {
		case key == "/auth":
			if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "pw" {
				reply(w, 401, "0", `{"errorCode":110,"message":"The request requires user authentication","cause":"Insufficient credentials","index":0}`)
				return
			}
			reply(w, 200, "12", `{"action":"get","node":{"key":"/auth","value":"secret","modifiedIndex":4,"createdIndex":4}}`)
		case key == "/fail500":
			reply(w, 500, "", `{"errorCode":300,"message":"Raft Internal Error","index":12}`)
		case key == "/badjson":
			reply(w, 200, "12", `not json`)
		case r.Method == http.MethodGet && q.Get("wait") == "true":
			switch q.Get("waitIndex") {
			case "0", "6":
				reply(w, 200, "12", `{"action":"set","node":{"key":"/w/a","value":"wv","modifiedIndex":13,"createdIndex":13},"prevNode":{"key":"/w/a","value":"old","modifiedIndex":8,"createdIndex":8}}`)
			case "14":
				reply(w, 200, "13", `{"action":"set","node":{"key":"/w/d","dir":true,"modifiedIndex":14,"createdIndex":14}}`)
			case "15":
				reply(w, 200, "14", `{"action":"delete","node":{"key":"/w/a","modifiedIndex":15,"createdIndex":13},"prevNode":{"key":"/w/a","value":"wv","modifiedIndex":13,"createdIndex":13}}`)
			default:
				reply(w, 400, "15", `{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [16/1]","index":15}`)
			}
		case r.Method == http.MethodGet && key == "/file":
			reply(w, 200, "12", `{"action":"get","node":{"key":"/file","value":"fv","modifiedIndex":7,"createdIndex":7}}`)
		case r.Method == http.MethodGet && key == "/ttl":
			reply(w, 200, "12", `{"action":"get","node":{"key":"/ttl","value":"tv","expiration":"2026-11-21T10:20:44.296311103Z","ttl":60,"modifiedIndex":9,"createdIndex":9}}`)
		case r.Method == http.MethodGet && key == "/dir":
			reply(w, 200, "12", `{"action":"get","node":{"key":"/dir","dir":true,"nodes":[{"key":"/dir/a","value":"1","modifiedIndex":5,"createdIndex":5},{"key":"/dir/sub","dir":true,"nodes":[{"key":"/dir/sub/b","value":"2","modifiedIndex":6,"createdIndex":6}],"modifiedIndex":6,"createdIndex":6},{"key":"/dir/empty","dir":true,"modifiedIndex":8,"createdIndex":8}],"modifiedIndex":5,"createdIndex":5}}`)
		case r.Method == http.MethodGet && key == "/":
			reply(w, 200, "12", `{"action":"get","node":{"dir":true,"nodes":[{"key":"/file","value":"fv","modifiedIndex":7,"createdIndex":7},{"key":"/dir","dir":true,"modifiedIndex":5,"createdIndex":5}]}}`)
		case r.Method == http.MethodGet:
			notFound()
		case r.Method == http.MethodPut && q.Get("dir") == "true":
			ttl := ""
			if t := r.PostForm.Get("ttl"); t != "" {
				ttl = `,"expiration":"2026-11-21T10:20:44.296311103Z","ttl":` + t
			}
			switch q.Get("prevExist") {
			case "false":
				reply(w, 201, "13", `{"action":"create","node":{"key":"`+key+`","dir":true`+ttl+`,"modifiedIndex":13,"createdIndex":13}}`)
			case "true":
				reply(w, 200, "13", `{"action":"update","node":{"key":"`+key+`","dir":true,"modifiedIndex":13,"createdIndex":10},"prevNode":{"key":"`+key+`","dir":true,"modifiedIndex":10,"createdIndex":10}}`)
			default:
				reply(w, 403, "12", `{"errorCode":102,"message":"Not a file","cause":"`+key+`","index":12}`)
			}
		case r.Method == http.MethodPut && key == "/nope2":
			reply(w, 412, "12", `{"errorCode":105,"message":"Key already exists","cause":"/nope2","index":12}`)
		case r.Method == http.MethodPut:
			ttl := ""
			if t := r.PostForm.Get("ttl"); t != "" {
				ttl = `,"expiration":"2026-11-21T10:20:44.296311103Z","ttl":` + t
			}
			action, prev := "set", `,"prevNode":{"key":"`+key+`","value":"fv","modifiedIndex":7,"createdIndex":7}`
			switch {
			case q.Get("prevExist") == "false":
				action, prev = "create", ""
			case q.Get("prevExist") == "true":
				action = "update"
			case q.Get("prevValue") != "" || q.Get("prevIndex") != "":
				action = "compareAndSwap"
			case key == "/new":
				prev = ""
			}
			reply(w, 200, "13", `{"action":"`+action+`","node":{"key":"`+key+`","value":`+jsonString(value)+ttl+`,"modifiedIndex":13,"createdIndex":13}`+prev+`}`)
		case r.Method == http.MethodPost:
			reply(w, 201, "13", `{"action":"create","node":{"key":"`+key+`/00000000000000000013","value":`+jsonString(value)+`,"modifiedIndex":13,"createdIndex":13}}`)
		case r.Method == http.MethodDelete && key == "/dir":
			if q.Get("recursive") != "true" && q.Get("dir") != "true" {
				reply(w, 403, "12", `{"errorCode":102,"message":"Not a file","cause":"/dir","index":12}`)
				return
			}
			if q.Get("recursive") != "true" {
				reply(w, 403, "12", `{"errorCode":108,"message":"Directory not empty","cause":"/dir","index":12}`)
				return
			}
			reply(w, 200, "13", `{"action":"delete","node":{"key":"/dir","dir":true,"modifiedIndex":13,"createdIndex":5},"prevNode":{"key":"/dir","dir":true,"modifiedIndex":5,"createdIndex":5}}`)
		case r.Method == http.MethodDelete && key == "/file":
			action := "delete"
			if q.Get("prevValue") != "" {
				action = "compareAndDelete"
			}
			reply(w, 200, "13", `{"action":"`+action+`","node":{"key":"/file","modifiedIndex":13,"createdIndex":7},"prevNode":{"key":"/file","value":"fv","modifiedIndex":7,"createdIndex":7}}`)
		default:
			notFound()
		}
	})
	return mux
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
