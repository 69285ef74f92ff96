package cluster

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/larchkv/larch/cluster/wal"
)

// A member that discovery finds a running cluster for asks one of its
// members, on the peer port, to add it as a learner (joinPath). The
// request is signed with Config.JoinKey, which only members started with
// the same discovery token hold: the token, not network reach, is what
// admits a member. Once it runs, the learner promotes itself when caught
// up (PromoteSelf).

const (
	joinPath = "/larch/join"
	// joinWindow bounds how old a signed join request may be.
	joinWindow = 5 * time.Minute
	// joinRetry is how often a refused join or promotion is tried again.
	joinRetry     = 500 * time.Millisecond
	joinMACHeader = "X-Larch-Join-Mac"
)

type joinRequest struct {
	Name     string   `json:"name"`
	PeerURLs []string `json:"peerURLs"`
	// ClusterID is the cluster the joiner found (hex): a request is good
	// for that cluster only.
	ClusterID string `json:"clusterID"`
	// Time (Unix seconds) and Nonce limit a captured request's replay:
	// a member takes each signature once within joinWindow.
	Time  int64  `json:"time"`
	Nonce string `json:"nonce"`
}

type joinResponse struct {
	Member  Member   `json:"member"`
	Members []Member `json:"members"`
}

func joinMAC(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func (s *Server) serveJoin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if len(s.cfg.JoinKey) == 0 {
		http.Error(w, "this member was not started with a discovery token", http.StatusForbidden)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	got, _ := hex.DecodeString(r.Header.Get(joinMACHeader))
	want, _ := hex.DecodeString(joinMAC(s.cfg.JoinKey, body))
	if !hmac.Equal(got, want) {
		http.Error(w, "join request not signed with this cluster's discovery token", http.StatusForbidden)
		return
	}
	var req joinRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if age := time.Since(time.Unix(req.Time, 0)); age > joinWindow || age < -joinWindow {
		http.Error(w, "join request expired (are the clocks far apart?)", http.StatusForbidden)
		return
	}
	if req.ClusterID != s.clusterID.String() {
		http.Error(w, "join request for another cluster", http.StatusForbidden)
		return
	}
	if !s.joinNonces.first(hex.EncodeToString(got), time.Now()) {
		http.Error(w, "join request replayed", http.StatusForbidden)
		return
	}
	for _, m := range s.Members() {
		if m.Name != "" && m.Name == req.Name && !sameMemberURLs(m, req.PeerURLs) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusPreconditionFailed)
			fmt.Fprintf(w, "member name %q is taken by member %s", req.Name, m.ID)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.RequestTimeout())
	defer cancel()
	m, members, err := s.AddMember(ctx, req.PeerURLs, true)
	if err != nil {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusPreconditionFailed)
		io.WriteString(w, err.Error())
		return
	}
	s.logger.Info("added a learner that joined by discovery token", "member-id", m.ID.String(), "peer-urls", m.PeerURLs)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Etcd-Cluster-ID", s.clusterID.String())
	_ = json.NewEncoder(w).Encode(joinResponse{Member: m, Members: members})
}

// JoinAsLearner asks the running cluster, through the members at the peer
// URLs in through, to add the member cfg describes as a learner, and points
// cfg at that cluster (InitialClusterState "existing", InitialCluster its
// started members and this one). Refusals that pass (another learner is
// catching up, an election) are retried until ctx ends.
//
// A member the cluster already lists with these peer URLs but that never
// started (an initial member that stopped before it wrote its log, or a
// joiner added before it crashed) starts as that member. One that did
// start is refused: its data dir is gone, and a voter that forgot its log
// and votes could lose acknowledged writes.
func JoinAsLearner(ctx context.Context, cfg *Config, through []string, key []byte) error {
	client := newPeerHTTPClient(cfg, 10*time.Second)
	defer client.CloseIdleConnections()
	t := time.NewTicker(joinRetry)
	defer t.Stop()
	var last error
	for {
		for _, u := range through {
			members, err := joinThrough(ctx, client, u, cfg, key)
			if err == nil {
				cfg.InitialClusterState = "existing"
				cfg.InitialCluster = []InitialMember{{Name: cfg.Name, PeerURLs: slices.Clone(cfg.PeerURLs)}}
				for _, m := range members {
					if m.Name != "" && !sameMemberURLs(m, cfg.PeerURLs) {
						cfg.InitialCluster = append(cfg.InitialCluster, InitialMember{Name: m.Name, PeerURLs: m.PeerURLs})
					}
				}
				return nil
			}
			var final finalJoinError
			if errors.As(err, &final) {
				return final.error
			}
			if ctx.Err() == nil {
				last = err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: join the running cluster through %v: %w (last refusal: %v)", through, ctx.Err(), last)
		case <-t.C:
		}
	}
}

// finalJoinError is a refusal that trying again cannot change.
type finalJoinError struct{ error }

// joinThrough makes one attempt through the member at peerURL.
func joinThrough(ctx context.Context, client *http.Client, peerURL string, cfg *Config, key []byte) ([]Member, error) {
	cid, members, err := getMembers(client, peerURL)
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		// A member that started published its client URLs (etcd's
		// isMemberBootstrapped reads the same).
		started := len(m.ClientURLs) > 0
		switch {
		case sameMemberURLs(m, cfg.PeerURLs) && !started && (m.Name == "" || m.Name == cfg.Name):
			return members, nil
		case sameMemberURLs(m, cfg.PeerURLs):
			return nil, finalJoinError{fmt.Errorf("cluster: member %s (%q) with peer URLs %v already ran in this cluster and this member has no data: "+
				"if its data dir is lost, remove it (member remove %s) and start again", m.ID, m.Name, cfg.PeerURLs, m.ID)}
		case m.Name == cfg.Name:
			return nil, finalJoinError{fmt.Errorf("cluster: member name %q is taken by member %s (peer URLs %v)", cfg.Name, m.ID, m.PeerURLs)}
		}
	}
	return postJoin(ctx, client, peerURL, joinRequest{Name: cfg.Name, PeerURLs: cfg.PeerURLs, ClusterID: cid.String()}, key)
}

func postJoin(ctx context.Context, client *http.Client, peerURL string, jr joinRequest, key []byte) ([]Member, error) {
	nonce := make([]byte, 16)
	rand.Read(nonce)
	jr.Time, jr.Nonce = time.Now().Unix(), hex.EncodeToString(nonce)
	body, err := json.Marshal(jr)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, peerURL+joinPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(joinMACHeader, joinMAC(key, body))
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusPreconditionFailed:
		msg := string(bytes.TrimSpace(text))
		if strings.HasPrefix(msg, "member name ") {
			return nil, finalJoinError{errors.New("cluster: " + msg)}
		}
		return nil, errors.New(msg)
	default:
		return nil, fmt.Errorf("POST %s: %s: %s", peerURL+joinPath, resp.Status, bytes.TrimSpace(text))
	}
	var joined joinResponse
	if err := json.Unmarshal(text, &joined); err != nil {
		return nil, fmt.Errorf("POST %s: %w", peerURL+joinPath, err)
	}
	return joined.Members, nil
}

// joinNonces remembers the join signatures a member took within
// joinWindow, so that each is taken once.
type joinNonces struct {
	mu   sync.Mutex // guards seen
	seen map[string]time.Time
}

// first records sig at now and reports whether it is new.
func (n *joinNonces) first(sig string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seen == nil {
		n.seen = map[string]time.Time{}
	}
	for k, at := range n.seen {
		if now.Sub(at) > 2*joinWindow {
			delete(n.seen, k)
		}
	}
	if _, ok := n.seen[sig]; ok {
		return false
	}
	n.seen[sig] = now
	return true
}

// HasData reports whether dataDir holds a member's log: such a member
// restarts from it, and ignores bootstrap settings and discovery.
func HasData(dataDir string) (bool, error) {
	return wal.Exist(memberDirs(dataDir).wal)
}

// PromoteSelf promotes this member, a learner, to a voter once it has
// caught up, unless the cluster already has maxVoters voters; it returns
// once the member has applied its promotion, or when ctx ends.
func (s *Server) PromoteSelf(ctx context.Context, maxVoters int) error {
	t := time.NewTicker(joinRetry)
	defer t.Stop()
	full := false
	for {
		voters := 0
		for _, m := range s.Members() {
			if !m.IsLearner {
				voters++
			}
		}
		self := s.member(s.id)
		switch {
		case self == nil:
			// The entry that added this member is not applied here yet.
		case !self.IsLearner:
			return nil
		case voters >= maxVoters:
			if !full {
				s.logger.Info("staying a learner: the cluster has enough voters", "voters", voters, "max-voters", maxVoters)
				full = true
			}
		default:
			full = false
			_, err := s.PromoteMember(ctx, s.ID())
			switch {
			case err == nil, errors.Is(err, ErrMemberNotLearner):
				// Returns once this member has applied its promotion.
				s.logger.Info("promoted to voter", "member-id", s.ID().String())
			default:
				s.logger.Debug("promotion refused for now", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.Stopping():
			return ErrStopped
		case <-t.C:
		}
	}
}
