package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/larchkv/larch/cluster/transport"
	"github.com/larchkv/larch/cluster/wal"
)

// raftPeer is the member's Raft node as the transport sees it.
type raftPeer struct{ s *Server }

var _ transport.Raft = raftPeer{}

func (r raftPeer) Process(ctx context.Context, m raftpb.Message) error {
	select {
	case r.s.recvc <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.s.stopping:
		return ErrStopped
	}
}

// ReportUnreachable and ReportSnapshot may be called from any goroutine,
// the raft loop's own included (the transport's Send runs there), so they
// only note the report and wake the raft loop, which hands it to Raft.
func (r raftPeer) ReportUnreachable(id uint64) {
	r.s.reports.add(func(rn *raft.RawNode) { rn.ReportUnreachable(id) })
}

func (r raftPeer) ReportSnapshot(id uint64, status raft.SnapshotStatus) {
	r.s.reports.add(func(rn *raft.RawNode) { rn.ReportSnapshot(id, status) })
}

// peerReports queues the transport's reports for the raft loop.
type peerReports struct {
	mu      sync.Mutex // guards pending
	pending []func(*raft.RawNode)
	// wake has room for one signal: reports that arrive together merge.
	wake chan struct{}
}

func (q *peerReports) add(f func(*raft.RawNode)) {
	q.mu.Lock()
	q.pending = append(q.pending, f)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// apply hands every queued report to Raft; raft loop only.
func (q *peerReports) apply(rn *raft.RawNode) {
	q.mu.Lock()
	pending := q.pending
	q.pending = nil
	q.mu.Unlock()
	for _, f := range pending {
		f(rn)
	}
}

func (r raftPeer) IsIDRemoved(id uint64) bool {
	r.s.membersMu.RLock()
	defer r.s.membersMu.RUnlock()
	return r.s.removed[MemberID(id)]
}

// peerSnapshots gives the transport the member's snapshot files.
type peerSnapshots struct{ s *wal.Snapshotter }

func (p peerSnapshots) Open(index, term uint64) (io.ReadCloser, int64, error) {
	return p.s.OpenFile(wal.SnapshotMark{Index: index, Term: term})
}

func (p peerSnapshots) Receive(index, term uint64, r io.Reader) error {
	return p.s.Receive(wal.SnapshotMark{Index: index, Term: term}, r)
}

func (s *Server) startTransport() error {
	tr, err := transport.New(transport.Config{
		ID:        uint64(s.id),
		ClusterID: uint64(s.clusterID),
		Raft:      raftPeer{s},
		Snapshots: peerSnapshots{s.snapshotter},
		Dial:      s.cfg.PeerDial,
		DialTLS:   s.cfg.PeerDialTLS,
		OnRemoved: func() { s.fail(ErrRemoved) },
		Drop: func(to uint64) bool {
			return s.cfg.DropPeerMessage != nil && s.cfg.DropPeerMessage(MemberID(to))
		},
		Logger: s.logger,
	})
	if err != nil {
		return err
	}
	s.transport = tr
	s.leaderClient = s.peerHTTPClient()
	mux := http.NewServeMux()
	mux.Handle("/raft/", tr.Handler())
	mux.HandleFunc(membersPath, s.serveMembers)
	mux.HandleFunc(promotePath, s.servePromote)
	mux.HandleFunc(joinPath, s.serveJoin)
	mux.HandleFunc(hashKVPath, s.serveHashKV)
	mux.HandleFunc(leaseKeepAlivePath, s.serveLease)
	mux.HandleFunc(leaseTTLPath, s.serveLease)
	for _, l := range s.cfg.PeerListeners {
		tr.Serve(l, mux)
	}
	for _, m := range append(s.Members(), s.joinPeers...) {
		tr.AddPeer(uint64(m.ID), m.PeerURLs)
	}
	return nil
}

// The member's own peer endpoints beside the transport's.
const (
	// membersPath lists the members, for a member joining an existing
	// cluster (etcd's GET /members).
	membersPath = "/members"
	// promotePath takes a promotion forwarded by a follower to the leader,
	// which alone knows how far a learner has caught up.
	promotePath = "/members/promote/"
)

func (s *Server) serveMembers(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Etcd-Cluster-ID", s.clusterID.String())
	_ = json.NewEncoder(w).Encode(s.Members())
}

func (s *Server) servePromote(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	id, err := strconv.ParseUint(r.URL.Path[len(promotePath):], 10, 64)
	if err != nil {
		http.Error(w, "bad member ID", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.RequestTimeout())
	defer cancel()
	members, err := s.promoteAsLeader(ctx, MemberID(id))
	if err != nil {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusPreconditionFailed)
		io.WriteString(w, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(members)
}

// forwardPromote asks the leader to promote id.
func (s *Server) forwardPromote(ctx context.Context, id MemberID) ([]Member, error) {
	var members []Member
	refused, err := s.postToLeader(ctx, promotePath+strconv.FormatUint(uint64(id), 10), &members)
	if refused != "" {
		return nil, promoteError(refused)
	}
	return members, err
}

// postToLeader posts to path on the leader's peer URLs and decodes its
// JSON answer into out. A refusal (412) is returned as its text.
func (s *Server) postToLeader(ctx context.Context, path string, out any) (refused string, err error) {
	lead := s.Leader()
	m := s.member(lead)
	if lead == 0 || m == nil {
		return "", ErrNoLeader
	}
	client := s.leaderClient
	var lastErr error
	for _, u := range m.PeerURLs {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u+path, nil)
		if err != nil {
			return "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		switch {
		case err != nil:
			lastErr = err
			continue
		case resp.StatusCode == http.StatusPreconditionFailed:
			return string(body), nil
		case resp.StatusCode != http.StatusOK:
			lastErr = fmt.Errorf("cluster: leader answered %s: %s", resp.Status, body)
			continue
		}
		if err := json.Unmarshal(body, out); err != nil {
			return "", fmt.Errorf("cluster: the leader's answer to %s: %w", path, err)
		}
		return "", nil
	}
	if ctx.Err() != nil {
		return "", s.contextError(ctx, ctx.Err())
	}
	return "", fmt.Errorf("cluster: forwarding %s to the leader: %w", path, lastErr)
}

// promoteError turns the text of a leader's refusal back into the error
// it names, so the API layer maps it as if the leader were local.
func promoteError(msg string) error {
	for _, err := range []error{ErrLearnerNotReady, ErrMemberNotLearner, ErrIDNotFound, ErrNotLeader, ErrNotEnoughStartedMembers, ErrUnhealthy, ErrTimeout, ErrNoLeader} {
		if msg == err.Error() {
			return err
		}
	}
	return errors.New(msg)
}

func (s *Server) peerHTTPClient() *http.Client { return newPeerHTTPClient(&s.cfg, s.RequestTimeout()) }

// newPeerHTTPClient is a client of other members' peer ports, dialing
// with cfg's peer dialers (their defaults where unset).
func newPeerHTTPClient(cfg *Config, timeout time.Duration) *http.Client {
	c := *cfg
	c.fillPeerDial()
	return &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{DialContext: c.PeerDial, DialTLSContext: c.PeerDialTLS, ResponseHeaderTimeout: timeout},
	}
}

// fetchCluster asks the members named in the initial cluster, other than
// this one, for the current membership, as a member joining an existing
// cluster must (etcd's GetClusterFromRemotePeers). A member that has not
// applied this member's addition yet answers without it; the next is asked.
func (s *Server) fetchCluster(peerURLs []string) (ClusterID, []Member, *Member, error) {
	client := s.peerHTTPClient()
	client.Timeout = 2 * time.Second
	defer client.CloseIdleConnections()
	var errs []error
	for _, im := range s.cfg.InitialCluster {
		if im.Name == s.cfg.Name {
			continue
		}
		for _, u := range im.PeerURLs {
			cid, members, err := getMembers(client, u)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for i := range members {
				if sameMemberURLs(members[i], peerURLs) {
					return cid, members, &members[i], nil
				}
			}
			errs = append(errs, fmt.Errorf("the cluster %s knows no member with the peer URLs %v; add it with 'member add' first", u, peerURLs))
		}
	}
	return 0, nil, nil, fmt.Errorf("cluster: could not retrieve cluster information from the given URLs: %w", errors.Join(errs...))
}

func getMembers(client *http.Client, peerURL string) (ClusterID, []Member, error) {
	resp, err := client.Get(peerURL + membersPath)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, nil, fmt.Errorf("GET %s: %s", peerURL+membersPath, resp.Status)
	}
	var members []Member
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&members); err != nil {
		return 0, nil, fmt.Errorf("GET %s: %w", peerURL+membersPath, err)
	}
	cid, err := strconv.ParseUint(resp.Header.Get("X-Etcd-Cluster-ID"), 16, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: cluster ID: %w", peerURL+membersPath, err)
	}
	return ClusterID(cid), members, nil
}

// checkNotBootstrapped refuses to bootstrap a member that the running
// cluster knows as started (etcd's isMemberBootstrapped): its data dir was
// lost, and a voter that forgot its log and its votes could lose
// acknowledged writes. Peers that do not answer are taken as not started
// yet, as they are when a cluster first comes up.
func (s *Server) checkNotBootstrapped(id MemberID) error {
	if len(s.cfg.InitialCluster) < 2 {
		return nil
	}
	client := s.peerHTTPClient()
	client.Timeout = time.Second
	defer client.CloseIdleConnections()
	for _, im := range s.cfg.InitialCluster {
		if im.Name == s.cfg.Name {
			continue
		}
		for _, u := range im.PeerURLs {
			_, members, err := getMembers(client, u)
			if err != nil {
				continue
			}
			for _, m := range members {
				// Client URLs come only with a member's own publication; the
				// name may come from --initial-cluster.
				if m.ID == id && len(m.ClientURLs) > 0 {
					return fmt.Errorf("cluster: member %s has already been bootstrapped", id)
				}
			}
		}
	}
	return nil
}

// reconcilePeers makes the transport send to exactly the members.
func (s *Server) reconcilePeers(members []Member) {
	if s.transport == nil {
		return
	}
	want := map[uint64]bool{}
	for _, m := range members {
		want[uint64(m.ID)] = true
		s.transport.AddPeer(uint64(m.ID), m.PeerURLs)
	}
	for _, id := range s.transport.Peers() {
		if !want[id] {
			s.transport.RemovePeer(id)
		}
	}
}

// sameMemberURLs reports whether m has exactly the peer URLs urls.
func sameMemberURLs(m Member, urls []string) bool {
	return sameURLs(m.PeerURLs, urls) && len(urls) > 0 && !slices.Contains(urls, "")
}
