package v2api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/larchkv/larch/tree"
)

// FuzzParseKeyRequest: any method, path, query and form body gets either a
// request or a *tree.Error with index 0, never a panic.
func FuzzParseKeyRequest(f *testing.F) {
	f.Add("PUT", "/foo", "ttl=5&prevExist=true", "value=bar")
	f.Add("GET", "/dir", "wait=true&waitIndex=7&recursive=true", "")
	f.Add("POST", "/", "refresh=true", "ttl=abc")
	f.Add("DELETE", "/a/../b", "prevIndex=x", "")
	f.Fuzz(func(t *testing.T, method, p, query, body string) {
		switch method {
		case "GET", "PUT", "POST", "DELETE", "HEAD":
		default:
			method = "PUT"
		}
		req := httptest.NewRequest(method, "http://larch"+keysPrefix, strings.NewReader(body))
		req.URL.Path = keysPrefix + p
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		kr, err := parseKeyRequest(req, time.Unix(1700000000, 0))
		if err != nil {
			te, ok := err.(*tree.Error)
			if !ok || te.Index != 0 || te.StatusCode() < http.StatusBadRequest {
				t.Fatalf("error %#v is not a 4xx validation error with index 0", err)
			}
			return
		}
		if !strings.HasPrefix(kr.req.Path, "/") || kr.req.Method != method {
			t.Fatalf("parsed %+v from %s %q", kr.req, method, p)
		}
	})
}
