package cluster

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// MemberID identifies a member for the life of the cluster.
type MemberID uint64

// String formats the ID as etcd does: lower-case hex without padding.
func (id MemberID) String() string { return fmt.Sprintf("%x", uint64(id)) }

// ClusterID identifies a cluster; it is derived from the IDs of its first members.
type ClusterID uint64

func (id ClusterID) String() string { return fmt.Sprintf("%x", uint64(id)) }

// Member is one member as the replicated membership records it.
type Member struct {
	ID         MemberID `json:"id"`
	Name       string   `json:"name,omitempty"`
	PeerURLs   []string `json:"peerURLs"`
	ClientURLs []string `json:"clientURLs,omitempty"`
	IsLearner  bool     `json:"isLearner,omitempty"`
}

// Clone returns a deep copy, so readers never share slices with the apply loop.
func (m Member) Clone() Member {
	m.PeerURLs = slices.Clone(m.PeerURLs)
	m.ClientURLs = slices.Clone(m.ClientURLs)
	return m
}

// ComputeMemberID derives a member's ID from its peer URLs and the cluster
// token the way etcd does, so the same flags give the same IDs as etcd.
func ComputeMemberID(peerURLs []string, token string) MemberID {
	sorted := slices.Clone(peerURLs)
	slices.Sort(sorted)
	b := []byte(strings.Join(sorted, ""))
	b = append(b, token...)
	sum := sha1.Sum(b)
	return MemberID(binary.BigEndian.Uint64(sum[:8]))
}

// ComputeClusterID derives the cluster ID from the IDs of the initial
// members, as etcd does: SHA-1 over the sorted IDs, big-endian.
func ComputeClusterID(ids []MemberID) ClusterID {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	b := make([]byte, 8*len(sorted))
	for i, id := range sorted {
		binary.BigEndian.PutUint64(b[8*i:], uint64(id))
	}
	sum := sha1.Sum(b)
	return ClusterID(binary.BigEndian.Uint64(sum[:8]))
}
