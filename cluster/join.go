package cluster

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
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
	PeerURLs []string `json:"peerURLs"`
	// Time (Unix seconds) limits a captured request's replay.
	Time int64 `json:"time"`
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
// catching up, an election) are retried until ctx ends. A member added
// before, which crashed before it started, is taken as added.
func JoinAsLearner(ctx context.Context, cfg *Config, through []string, key []byte) error {
	dial, dialTLS := cfg.PeerDial, cfg.PeerDialTLS
	if dial == nil {
		dial = (&net.Dialer{Timeout: time.Second}).DialContext
	}
	if dialTLS == nil {
		dialTLS = func(context.Context, string, string) (net.Conn, error) { return nil, ErrNoPeerTLS }
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dial, DialTLSContext: dialTLS}}
	defer client.CloseIdleConnections()
	t := time.NewTicker(joinRetry)
	defer t.Stop()
	var last error
	for {
		for _, u := range through {
			members, err := postJoin(ctx, client, u, cfg.PeerURLs, key)
			if errors.Is(err, ErrPeerURLExists) {
				// Added by an earlier attempt; the running cluster's
				// membership names this member by its URLs.
				_, members, err = getMembers(client, u)
			}
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
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: join the running cluster through %v: %w (last refusal: %v)", through, ctx.Err(), last)
		case <-t.C:
		}
	}
}

func postJoin(ctx context.Context, client *http.Client, peerURL string, peerURLs []string, key []byte) ([]Member, error) {
	body, err := json.Marshal(joinRequest{PeerURLs: peerURLs, Time: time.Now().Unix()})
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
		if msg == ErrPeerURLExists.Error() {
			return nil, ErrPeerURLExists
		}
		return nil, errors.New(msg)
	default:
		return nil, fmt.Errorf("POST %s: %s: %s", peerURL+joinPath, resp.Status, bytes.TrimSpace(text))
	}
	var jr joinResponse
	if err := json.Unmarshal(text, &jr); err != nil {
		return nil, fmt.Errorf("POST %s: %w", peerURL+joinPath, err)
	}
	return jr.Members, nil
}

// HasData reports whether dataDir holds a member's log: such a member
// restarts from it, and ignores bootstrap settings and discovery.
func HasData(dataDir string) (bool, error) {
	return wal.Exist(filepath.Join(dataDir, "member", "wal"))
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
