package v2api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/larchkv/larch/cluster"
)

// member is etcd's httptypes.Member.
type member struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	PeerURLs   []string `json:"peerURLs"`
	ClientURLs []string `json:"clientURLs"`
}

func newMember(m cluster.Member) member {
	out := member{ID: m.ID.String(), Name: m.Name, PeerURLs: []string{}, ClientURLs: []string{}}
	out.PeerURLs = append(out.PeerURLs, m.PeerURLs...)
	if m.Name != "" { // an unstarted member publishes no client URLs
		out.ClientURLs = append(out.ClientURLs, m.ClientURLs...)
	}
	return out
}

// serveMembers serves /v2/members as etcd's v2 membersHandler does. A
// change (POST adds, PUT updates the peer URLs, DELETE removes) is checked
// here as etcd checks it, then replicated by the cluster, which also runs
// the strict reconfiguration checks; writeMemberError turns its errors into
// etcd's answers.
func (h *Handler) serveMembers(w http.ResponseWriter, r *http.Request) {
	if !allowMethod(w, r, http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodPut) {
		return
	}
	// Only root may change the membership once auth is on.
	if _, ok := h.writeRootAccess(r); !ok {
		writeNoAuth(w)
		return
	}
	w.Header().Set("X-Etcd-Cluster-ID", h.member.ClusterID().String())
	sub := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, membersPrefix), "/")
	switch r.Method {
	case http.MethodGet:
		members := h.member.Members()
		switch sub {
		case "":
			list := make([]member, 0, len(members))
			for _, m := range members {
				list = append(list, newMember(m))
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(struct {
				Members []member `json:"members"`
			}{list})
		case "leader":
			lead := h.member.Leader()
			i := slices.IndexFunc(members, func(m cluster.Member) bool { return m.ID == lead })
			if lead == 0 || i < 0 {
				writeMessage(w, http.StatusServiceUnavailable, "During election")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(newMember(members[i]))
		default:
			writeMessage(w, http.StatusNotFound, "Not found")
		}
	case http.MethodPost:
		urls, ok := decodePeerURLs(w, r)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), h.member.RequestTimeout())
		defer cancel()
		m, _, err := h.member.AddMember(ctx, urls, false)
		if err != nil {
			h.writeMemberError(w, r, 0, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(newMember(m))
	case http.MethodPut, http.MethodDelete:
		if sub == "" {
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		// etcd parses the ID first (404 with the path's text), then reads
		// a PUT's body, and only then proposes the change, which an
		// unknown ID fails when it is applied (404 with the ID in its
		// canonical hex form). A PUT of unchanged URLs is a change too.
		n, err := strconv.ParseUint(sub, 16, 64)
		if err != nil {
			writeMessage(w, http.StatusNotFound, "No such member: "+sub)
			return
		}
		id := cluster.MemberID(n)
		var urls []string
		if r.Method == http.MethodPut {
			var ok bool
			if urls, ok = decodePeerURLs(w, r); !ok {
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), h.member.RequestTimeout())
		defer cancel()
		if r.Method == http.MethodPut {
			_, err = h.member.UpdateMember(ctx, id, urls)
		} else {
			_, err = h.member.RemoveMember(ctx, id)
		}
		if err != nil {
			h.writeMemberError(w, r, id, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// writeMemberError answers a failed membership change of member id (0 for
// an add) as etcd's v2 handler does. Each method maps only the errors etcd
// maps for it, with etcd's membership error texts; everything else (the
// strict reconfiguration checks, timeouts, no leader, and for PUT a removed
// ID) is a 500 whose cause is only logged.
func (h *Handler) writeMemberError(w http.ResponseWriter, r *http.Request, id cluster.MemberID, err error) {
	post, del := r.Method == http.MethodPost, r.Method == http.MethodDelete
	switch {
	case post && errors.Is(err, cluster.ErrIDExists):
		writeMessage(w, http.StatusConflict, "membership: ID exists")
	case !del && errors.Is(err, cluster.ErrPeerURLExists):
		writeMessage(w, http.StatusConflict, "membership: peerURL exists")
	case !post && errors.Is(err, cluster.ErrIDNotFound):
		writeMessage(w, http.StatusNotFound, "No such member: "+id.String())
	case del && errors.Is(err, cluster.ErrIDRemoved):
		writeMessage(w, http.StatusGone, "Member permanently removed: "+id.String())
	default:
		h.logger.Warn("v2 membership change failed", "method", r.Method, "member-id", id.String(), "remote-addr", r.RemoteAddr, "error", err)
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
	}
}

// decodePeerURLs reads a member request body ({"peerURLs":[…]}) with
// etcd's checks and errors (v2http's unmarshalRequest, then
// httptypes.MemberCreateRequest.UnmarshalJSON and types.NewURLs); it writes
// the error and returns false on one. The URLs come back normalized and
// sorted, as etcd compares them.
func decodePeerURLs(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	// etcd lowercases and trims the media type only when parameters
	// follow it; it reads the whole body and unmarshals it in one go.
	ct := r.Header.Get("Content-Type")
	if i := strings.Index(ct, ";"); i != -1 {
		ct = strings.TrimSpace(strings.ToLower(ct[:i]))
	}
	if ct != "application/json" {
		writeMessage(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Bad Content-Type %s, accept application/json", ct))
		return nil, false
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		writeMessage(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	var body struct {
		PeerURLs []string `json:"peerURLs"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		writeMessage(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	if len(body.PeerURLs) == 0 {
		writeMessage(w, http.StatusBadRequest, "no valid URLs given")
		return nil, false
	}
	urls := make([]string, 0, len(body.PeerURLs))
	for _, s := range body.PeerURLs {
		u, err := checkURL(s)
		if err != nil {
			writeMessage(w, http.StatusBadRequest, err.Error())
			return nil, false
		}
		urls = append(urls, u)
	}
	slices.Sort(urls)
	return urls, true
}

// checkURL is etcd's types.NewURLs check of one peer URL; it returns the
// URL in its normalized form.
func checkURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "http", "https":
		if _, _, err := net.SplitHostPort(u.Host); err != nil {
			return "", fmt.Errorf(`URL address does not have the form "host:port": %s`, s)
		}
		if u.Path != "" {
			return "", fmt.Errorf("URL must not contain a path: %s", s)
		}
	case "unix", "unixs":
	default:
		return "", fmt.Errorf("URL scheme must be http, https, unix, or unixs: %s", s)
	}
	return u.String(), nil
}

// serveMachines answers the sorted client URLs of all members, joined by
// ", ", as text (etcd writes them without a Content-Type; Go sniffs it).
func (h *Handler) serveMachines(w http.ResponseWriter, r *http.Request) {
	if !allowMethod(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	var urls []string
	for _, m := range h.member.Members() {
		urls = append(urls, m.ClientURLs...)
	}
	slices.Sort(urls)
	w.Write([]byte(strings.Join(urls, ", ")))
}

// selfStats is etcd's v2stats.ServerStats JSON. The rate fields are left
// out (etcd omits them at zero); Larch keeps no per-append rates.
type selfStats struct {
	Name       string    `json:"name"`
	ID         string    `json:"id"`
	State      string    `json:"state"`
	StartTime  time.Time `json:"startTime"`
	LeaderInfo struct {
		Leader    string    `json:"leader"`
		Uptime    string    `json:"uptime"`
		StartTime time.Time `json:"startTime"`
	} `json:"leaderInfo"`
	RecvAppendRequestCnt uint64 `json:"recvAppendRequestCnt"`
	SendAppendRequestCnt uint64 `json:"sendAppendRequestCnt"`
}

func (h *Handler) serveStatsSelf(w http.ResponseWriter, r *http.Request) {
	if !allowMethod(w, r, http.MethodGet) {
		return
	}
	s := selfStats{ID: h.member.ID().String(), StartTime: h.startTime.UTC()}
	for _, m := range h.member.Members() {
		if m.ID == h.member.ID() {
			s.Name = m.Name
		}
	}
	switch lead := h.member.Leader(); {
	case lead == h.member.ID():
		s.State = "StateLeader"
	case lead == 0:
		s.State = "StateCandidate"
	default:
		s.State = "StateFollower"
	}
	if lead := h.member.Leader(); lead != 0 {
		s.LeaderInfo.Leader = lead.String()
	}
	s.LeaderInfo.StartTime = h.startTime.UTC()
	s.LeaderInfo.Uptime = time.Since(h.startTime).String()
	b, _ := json.Marshal(s)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// serveStatsLeader answers etcd's LeaderStats on the leader; a single
// member has no followers, so "followers" is {}.
func (h *Handler) serveStatsLeader(w http.ResponseWriter, r *http.Request) {
	if !allowMethod(w, r, http.MethodGet) {
		return
	}
	if h.member.Leader() != h.member.ID() {
		writeMessage(w, http.StatusForbidden, "not current leader")
		return
	}
	followers := map[string]any{}
	b, _ := json.Marshal(struct {
		Leader    string         `json:"leader"`
		Followers map[string]any `json:"followers"`
	}{h.member.ID().String(), followers})
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (h *Handler) serveStatsStore(w http.ResponseWriter, r *http.Request) {
	if !allowMethod(w, r, http.MethodGet) {
		return
	}
	b, _ := json.Marshal(h.member.V2().Stats())
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
