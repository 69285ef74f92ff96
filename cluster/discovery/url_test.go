package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeKeys is a v2 keys API holding one discovery directory, /d, that
// answers 503 to its first `unavailable` requests.
type fakeKeys struct {
	mu          sync.Mutex
	changed     chan struct{} // closed and replaced on each write
	index       uint64
	size        string
	nodes       []v2Node
	unavailable int
}

func newFakeKeys(size string, unavailable int) *fakeKeys {
	return &fakeKeys{changed: make(chan struct{}), index: 1, size: size, unavailable: unavailable}
}

func (f *fakeKeys) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if f.unavailable > 0 {
		f.unavailable--
		f.mu.Unlock()
		http.Error(w, "not now", http.StatusServiceUnavailable)
		return
	}
	key := strings.TrimPrefix(r.URL.Path, "/v2/keys")
	reply := func(code int, body any) {
		w.Header().Set("X-Etcd-Index", strconv.FormatUint(f.index, 10))
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(body)
		f.mu.Unlock()
	}
	switch {
	case r.Method == http.MethodGet && key == "/d/_config/size":
		if f.size == "" {
			reply(404, map[string]any{"errorCode": 100, "message": "Key not found"})
			return
		}
		reply(200, map[string]any{"node": v2Node{Key: key, Value: f.size}})
	case r.Method == http.MethodGet && key == "/d" && r.URL.Query().Get("wait") == "true":
		after, _ := strconv.ParseUint(r.URL.Query().Get("waitIndex"), 10, 64)
		for f.index < after {
			ch := f.changed
			f.mu.Unlock()
			select {
			case <-ch:
			case <-r.Context().Done():
				return
			}
			f.mu.Lock()
		}
		reply(200, map[string]any{"node": v2Node{Key: "/d"}})
	case r.Method == http.MethodGet && key == "/d":
		reply(200, map[string]any{"node": v2Node{Key: "/d", Dir: true, Nodes: slices.Clone(f.nodes)}})
	case r.Method == http.MethodGet:
		for _, n := range f.nodes {
			if n.Key == key {
				reply(200, map[string]any{"node": n})
				return
			}
		}
		reply(404, map[string]any{"errorCode": 100, "message": "Key not found"})
	case r.Method == http.MethodPut && r.URL.Query().Get("prevExist") == "false":
		for _, n := range f.nodes {
			if n.Key == key {
				reply(412, map[string]any{"errorCode": 105, "message": "Key already exists"})
				return
			}
		}
		r.ParseForm()
		f.index++
		f.nodes = append(f.nodes, v2Node{Key: key, Value: r.PostForm.Get("value"), CreatedIndex: f.index, ModifiedIndex: f.index})
		close(f.changed)
		f.changed = make(chan struct{})
		reply(201, map[string]any{"node": f.nodes[len(f.nodes)-1]})
	default:
		reply(400, map[string]any{"errorCode": 0, "message": "unexpected " + r.Method + " " + r.URL.String()})
	}
}

func fastBackoff(t *testing.T) {
	old := urlBackoff
	urlBackoff = func(int) time.Duration { return 10 * time.Millisecond }
	t.Cleanup(func() { urlBackoff = old })
}

func urlConfig(url string, i int) URLConfig {
	return URLConfig{URL: url, ID: fmt.Sprintf("%x", 0x100+i), Self: fmt.Sprintf("m%d=http://10.0.0.%d:2380", i, i), Logger: testLogger()}
}

// TestBootstrapURL: three members register in etcd v2's discovery
// directory, riding out a service that answers 503 at first, and agree on
// the first three registrations; a fourth is refused as the cluster is
// full; one registered before with the same entry takes its place again.
func TestBootstrapURL(t *testing.T) {
	fastBackoff(t)
	keys := newFakeKeys("3", 4)
	srv := httptest.NewServer(keys)
	defer srv.Close()
	url := srv.URL + "/v2/keys/d"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	results := make(chan string, 3)
	for i := range 3 {
		go func() {
			got, err := BootstrapURL(ctx, urlConfig(url, i))
			if err != nil {
				t.Error(err)
			}
			results <- got
		}()
	}
	var got []string
	for range 3 {
		got = append(got, <-results)
	}
	if got[0] == "" || got[0] != got[1] || got[1] != got[2] || strings.Count(got[0], "=") != 3 {
		t.Fatalf("initial clusters: %q", got)
	}
	if _, err := BootstrapURL(ctx, urlConfig(url, 3)); !errors.Is(err, ErrFullCluster) {
		t.Fatalf("a fourth member: %v", err)
	}
	if again, err := BootstrapURL(ctx, urlConfig(url, 1)); err != nil || again != got[0] {
		t.Fatalf("registered again: %q %v", again, err)
	}
	other := urlConfig(url, 1)
	other.Self = "m1=http://10.9.9.9:2380"
	if _, err := BootstrapURL(ctx, other); !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("another entry under a taken ID: %v", err)
	}
}

// TestBootstrapURLErrors: the service's answers that cannot change end the
// wait at once; a service that is not there is waited for, as in etcd.
func TestBootstrapURLErrors(t *testing.T) {
	fastBackoff(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		size string
		want error
	}{{"", ErrSizeNotFound}, {"three", ErrBadSizeKey}} {
		srv := httptest.NewServer(newFakeKeys(tc.size, 0))
		_, err := BootstrapURL(ctx, urlConfig(srv.URL+"/v2/keys/d", 0))
		srv.Close()
		if !errors.Is(err, tc.want) {
			t.Fatalf("size %q: %v, want %v", tc.size, err, tc.want)
		}
	}
	if _, err := BootstrapURL(ctx, urlConfig("http://127.0.0.1:1", 0)); !errors.Is(err, ErrInvalidURL) {
		t.Fatalf("no directory in the URL: %v", err)
	}
	gone := httptest.NewServer(http.NotFoundHandler())
	url := gone.URL + "/v2/keys/d"
	gone.Close()
	short, stop := context.WithTimeout(ctx, 300*time.Millisecond)
	defer stop()
	if _, err := BootstrapURL(short, urlConfig(url, 0)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a service not there is waited for until the deadline: %v", err)
	}
}
