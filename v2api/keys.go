package v2api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/larchkv/larch/auth"
	"github.com/larchkv/larch/tree"
)

// keyRequest is a validated /v2/keys request.
type keyRequest struct {
	req              pb.Request // Method, Path, Val, Dir, PrevValue, PrevIndex, PrevExist, Expiration, Recursive, Refresh
	waitIndex        uint64
	wait             bool
	sorted           bool
	quorum           bool
	stream           bool
	noValueOnSuccess bool
}

// parseKeyRequest validates r in etcd's order (spec/v2.md §3.1); the first
// failure wins and is a *tree.Error with index 0.
func parseKeyRequest(r *http.Request, now time.Time) (*keyRequest, error) {
	// ParseForm reads the body of POST and PUT only, and only when it is
	// form-urlencoded; body values come first in r.Form, so they win.
	if err := r.ParseForm(); err != nil {
		return nil, tree.NewError(tree.EcodeInvalidForm, err.Error(), 0)
	}
	kr := &keyRequest{}
	kr.req.Method = r.Method
	kr.req.Path = path.Join("/", r.URL.Path[len(keysPrefix):])
	var err error
	if kr.req.PrevIndex, err = formUint(r.Form, "prevIndex"); err != nil {
		return nil, tree.NewError(tree.EcodeIndexNaN, `invalid value for "prevIndex"`, 0)
	}
	if kr.waitIndex, err = formUint(r.Form, "waitIndex"); err != nil {
		return nil, tree.NewError(tree.EcodeIndexNaN, `invalid value for "waitIndex"`, 0)
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{
		{"recursive", &kr.req.Recursive},
		{"sorted", &kr.sorted},
		{"wait", &kr.wait},
		{"dir", &kr.req.Dir},
		{"quorum", &kr.quorum},
		{"stream", &kr.stream},
	} {
		if *b.dst, err = formBool(r.Form, b.name); err != nil {
			return nil, tree.NewError(tree.EcodeInvalidField, fmt.Sprintf("invalid value for %q", b.name), 0)
		}
	}
	if kr.wait && r.Method != http.MethodGet {
		return nil, tree.NewError(tree.EcodeInvalidField, `"wait" can only be used with GET requests`, 0)
	}
	kr.req.PrevValue = r.Form.Get("prevValue")
	if _, ok := r.Form["prevValue"]; ok && kr.req.PrevValue == "" {
		return nil, tree.NewError(tree.EcodePrevValueRequired, `"prevValue" cannot be empty`, 0)
	}
	if kr.noValueOnSuccess, err = formBool(r.Form, "noValueOnSuccess"); err != nil {
		return nil, tree.NewError(tree.EcodeInvalidField, `invalid value for "noValueOnSuccess"`, 0)
	}
	var ttl *uint64
	if r.Form.Get("ttl") != "" {
		v, err := formUint(r.Form, "ttl")
		if err != nil {
			return nil, tree.NewError(tree.EcodeTTLNaN, `invalid value for "ttl"`, 0)
		}
		ttl = &v
	}
	if _, ok := r.Form["prevExist"]; ok {
		v, err := formBool(r.Form, "prevExist")
		if err != nil {
			return nil, tree.NewError(tree.EcodeInvalidField, "invalid value for prevExist", 0)
		}
		kr.req.PrevExist = &v
	}
	if _, ok := r.Form["refresh"]; ok {
		v, err := formBool(r.Form, "refresh")
		if err != nil {
			return nil, tree.NewError(tree.EcodeInvalidField, "invalid value for refresh", 0)
		}
		kr.req.Refresh = &v
		if v {
			if r.Form.Get("value") != "" {
				return nil, tree.NewError(tree.EcodeRefreshValue, "A value was provided on a refresh", 0)
			}
			if ttl == nil {
				return nil, tree.NewError(tree.EcodeRefreshTTLRequired, "No TTL value set", 0)
			}
		}
	}
	kr.req.Val = r.Form.Get("value")
	if ttl != nil {
		// etcd's arithmetic, wrap-around included: a huge ttl can land
		// before 2000 (permanent) or in the past (expires at once).
		kr.req.Expiration = now.Add(time.Duration(*ttl) * time.Second).UnixNano()
	}
	return kr, nil
}

// formUint parses the first value of key as a base-10 uint64; absent is 0.
func formUint(form url.Values, key string) (uint64, error) {
	if vs, ok := form[key]; ok {
		return strconv.ParseUint(vs[0], 10, 64)
	}
	return 0, nil
}

// formBool parses the first value of key with strconv.ParseBool; absent is
// false, empty is an error.
func formBool(form url.Values, key string) (bool, error) {
	if vs, ok := form[key]; ok {
		return strconv.ParseBool(vs[0])
	}
	return false, nil
}

func (h *Handler) serveKeys(w http.ResponseWriter, r *http.Request) {
	if !allowMethod(w, r, http.MethodHead, http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete) {
		return
	}
	w.Header().Set("X-Etcd-Cluster-ID", h.member.ClusterID().String())
	kr, err := parseKeyRequest(r, h.now())
	if err != nil {
		writeKeyError(w, err)
		return
	}
	// As etcd, the check comes after the validation, on the raw path.
	key := r.URL.Path[len(keysPrefix):]
	user, authRev, ok := h.keyAccess(r, key, kr.req.Recursive)
	if !ok {
		writeKeyNoAuth(w)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.member.RequestTimeout())
	defer cancel()
	var ev *tree.Event
	switch {
	case r.Method == http.MethodGet && kr.quorum:
		if err = h.member.LinearizableReadNotify(ctx); err == nil {
			ev, err = h.member.V2().Get(kr.req.Path, kr.req.Recursive, kr.sorted, h.now())
		}
	case r.Method == http.MethodGet && kr.wait:
		h.watch(w, r, kr)
		return
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		ev, err = h.member.V2().Get(kr.req.Path, kr.req.Recursive, kr.sorted, h.now())
	default:
		// A write applies only if auth is still as it was checked at;
		// otherwise it is checked again.
		for {
			ev, err = h.member.ProposeV2As(ctx, user, authRev, &kr.req)
			if !errors.Is(err, auth.ErrAuthOldRevision) {
				break
			}
			if user, authRev, ok = h.keyAccess(r, key, kr.req.Recursive); !ok {
				writeKeyNoAuth(w)
				return
			}
		}
	}
	if err != nil {
		writeKeyError(w, err)
		return
	}
	h.writeRaftHeaders(w, ev.EtcdIndex)
	if ev.IsCreated() {
		w.WriteHeader(http.StatusCreated)
	}
	if kr.noValueOnSuccess {
		switch ev.Action {
		case tree.ActionSet, tree.ActionCompareAndSwap, tree.ActionCreate, tree.ActionUpdate:
			ev = &tree.Event{Action: ev.Action}
		}
	}
	json.NewEncoder(w).Encode(ev)
}

func (h *Handler) writeRaftHeaders(w http.ResponseWriter, etcdIndex uint64) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Etcd-Index", strconv.FormatUint(etcdIndex, 10))
	hd.Set("X-Raft-Index", strconv.FormatUint(h.member.CommittedIndex(), 10))
	hd.Set("X-Raft-Term", strconv.FormatUint(h.member.Term(), 10))
}

// watch serves a wait=true GET on the request's goroutine until the event
// (one, or every one with stream=true), the client going away or the
// member stopping.
func (h *Handler) watch(w http.ResponseWriter, r *http.Request, kr *keyRequest) {
	wa, err := h.member.V2().Watch(kr.req.Path, kr.req.Recursive, kr.stream, kr.waitIndex)
	if err != nil {
		writeKeyError(w, err)
		return
	}
	defer wa.Remove()
	h.writeRaftHeaders(w, wa.StartIndex())
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// Headers go out at once, before any event, for long polls.
	rc.Flush()
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.member.Stopping():
			return
		case ev, ok := <-wa.EventChan():
			if !ok {
				return
			}
			if err := enc.Encode(ev); err != nil || !kr.stream {
				return
			}
			rc.Flush()
		}
	}
}
