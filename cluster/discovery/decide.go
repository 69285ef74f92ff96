package discovery

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Phase is where a member of the pool stands.
type Phase string

const (
	// PhaseWaiting members are bootstrapping and have not chosen a set.
	PhaseWaiting Phase = "waiting"
	// PhaseProposed members are bootstrapping and publish the set they chose.
	PhaseProposed Phase = "proposed"
	// PhaseStarted members run Raft, in a cluster formed by discovery or
	// restarted from their data dir.
	PhaseStarted Phase = "started"
)

// metaVersion is the version of Meta's encoding; only appended to.
const metaVersion = 1

// Meta is what a member gossips about itself (memberlist's node metadata,
// at most 512 bytes encoded).
type Meta struct {
	Version    int      `json:"v"`
	Name       string   `json:"name"`
	PeerURLs   []string `json:"peer"`
	ClientURLs []string `json:"client,omitempty"`
	// Size is the member's --discovery-size (0 once started).
	Size  int   `json:"size,omitempty"`
	Phase Phase `json:"phase"`
	// Set is the hash of the initial cluster the member proposes or
	// started with ("" for one restarted from its data dir).
	Set string `json:"set,omitempty"`
	// Since is when the member's process joined the pool (Unix ns): of two
	// nodes of one restarted member, the newer counts.
	Since int64 `json:"since,omitempty"`
}

func (m Meta) encode() ([]byte, error) {
	m.Version = metaVersion
	return json.Marshal(m)
}

func decodeMeta(b []byte) (Meta, error) {
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("discovery: node metadata: %w", err)
	}
	if m.Version != metaVersion || m.Name == "" || len(m.PeerURLs) == 0 {
		return m, fmt.Errorf("discovery: node metadata version %d for %q not understood", m.Version, m.Name)
	}
	return m, nil
}

// setHash names an initial cluster: the same members with the same peer
// URLs give the same hash on every member.
func setHash(set []Meta) string {
	lines := make([]string, len(set))
	for i, m := range set {
		urls := slices.Clone(m.PeerURLs)
		slices.Sort(urls)
		lines[i] = m.Name + "=" + strings.Join(urls, ",")
	}
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:8])
}

var (
	// ErrDuplicateName is returned when another bootstrapping member of
	// the pool has this member's name.
	ErrDuplicateName = errors.New("discovery: duplicate member name")
	// ErrClusterFull is returned to a member left out of the initial
	// cluster because --discovery-size members were there before it.
	ErrClusterFull = errors.New("discovery: cluster is full")
	// ErrSizeMismatch is returned when members of one pool were given
	// different --discovery-size values.
	ErrSizeMismatch = errors.New("discovery: members disagree on the cluster size")
	// ErrTimeout is returned when the cluster did not form in time.
	ErrTimeout = errors.New("discovery: timed out")
	// ErrTokenMismatch is returned, at the timeout, when the seeds that
	// answered belong to a pool of another token.
	ErrTokenMismatch = errors.New("discovery: token mismatch")
)

// decisionKind is what a bootstrapping member does next.
type decisionKind int

const (
	// wait for more members, or for the chosen ones to agree.
	wait decisionKind = iota
	// propose Set: publish its hash.
	propose
	// start a new cluster of Set.
	start
	// join the running cluster of Set (its started members).
	join
	// fail with Err.
	fail
)

type decision struct {
	kind decisionKind
	set  []Meta
	err  error
}

// decide is the rule every bootstrapping member applies to its view of the
// pool (itself included): when at least size members are bootstrapping,
// the size with the smallest names form the cluster. A member proposes
// that set, and starts once every member of it proposes the same set (or
// one already started with it), so that no member starts a cluster the
// others do not. Members see the same view once gossip settles, and then
// choose alike; the caller proposes only after the view held still.
// A pool that already has started members is a running cluster: a member
// not in their set joins it.
func decide(self Meta, view []Meta, size int) decision {
	var boot, started []Meta
	for _, m := range view {
		if m.Phase == PhaseStarted {
			started = append(started, m)
		} else {
			boot = append(boot, m)
		}
	}
	// A running cluster decides first: what bootstrapping members think
	// (a stray size, a duplicate name) cannot stop a member of it.
	if len(started) > 0 {
		if self.Set != "" && slices.ContainsFunc(started, func(m Meta) bool { return m.Set == self.Set }) {
			return decision{kind: start}
		}
		return decision{kind: join, set: started}
	}
	for _, m := range boot {
		if m.Size != size {
			return decision{kind: fail, err: fmt.Errorf("%w: %s was given %d, this member %d", ErrSizeMismatch, m.Name, m.Size, size)}
		}
	}
	slices.SortFunc(boot, func(a, b Meta) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(boot); i++ {
		if boot[i].Name != boot[i-1].Name {
			continue
		}
		if boot[i].Name == self.Name {
			return decision{kind: fail, err: fmt.Errorf("%w %q: another member of the pool (peer URLs %v) uses it", ErrDuplicateName, self.Name, otherURLs(boot[i-1:i+1], self))}
		}
		// Both holders fail; wait for them to leave.
		return decision{kind: wait}
	}
	if len(boot) < size {
		return decision{kind: wait}
	}
	chosen := boot[:size]
	h := setHash(chosen)
	agreed := !slices.ContainsFunc(chosen, func(m Meta) bool { return m.Set != h })
	if !slices.ContainsFunc(chosen, func(m Meta) bool { return m.Name == self.Name }) {
		if agreed {
			return decision{kind: fail, set: chosen, err: fmt.Errorf("%w: --discovery-size %d reached by %s", ErrClusterFull, size, names(chosen))}
		}
		return decision{kind: wait}
	}
	if agreed {
		return decision{kind: start, set: chosen}
	}
	return decision{kind: propose, set: chosen}
}

func otherURLs(pair []Meta, self Meta) []string {
	for _, m := range pair {
		if !slices.Equal(m.PeerURLs, self.PeerURLs) {
			return m.PeerURLs
		}
	}
	return pair[0].PeerURLs
}

func names(ms []Meta) string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return strings.Join(out, ", ")
}
