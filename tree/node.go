package tree

import (
	"encoding/binary"
	"path"
	"time"

	"github.com/armon/go-radix"
)

// minExpireTime: Create and Set treat an expiration before it as "no TTL"
// (etcd's guard against times that went through a JavaScript client).
var minExpireTime = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// node is one key or directory. Every field is guarded by Store.mu.
type node struct {
	path          string // clean absolute path; "/" for the root
	createdIndex  uint64
	modifiedIndex uint64
	expire        time.Time // zero: permanent; otherwise UTC, no monotonic reading
	dir           bool
	value         string      // files only
	parent        *node       // nil for the root
	children      *radix.Tree // dirs only: child name -> *node, walked in byte order
}

func newFile(p, value string, index uint64, parent *node, expire time.Time) *node {
	return &node{path: p, createdIndex: index, modifiedIndex: index, expire: expire, value: value, parent: parent}
}

func newDir(p string, index uint64, parent *node, expire time.Time) *node {
	return &node{path: p, createdIndex: index, modifiedIndex: index, expire: expire, dir: true, parent: parent, children: radix.New()}
}

func (n *node) name() string { return path.Base(n.path) }

// hidden reports whether n's own name starts with "_".
func (n *node) hidden() bool { return isHiddenName(n.name()) }

func isHiddenName(name string) bool { return len(name) > 0 && name[0] == '_' }

func (n *node) child(name string) *node {
	v, ok := n.children.Get(name)
	if !ok {
		return nil
	}
	return v.(*node)
}

// sortedChildren lists a dir's children in byte order of their names, which
// is also the byte order of their full keys.
func (n *node) sortedChildren() []*node {
	out := make([]*node, 0, n.children.Len())
	n.children.Walk(func(_ string, v interface{}) bool {
		out = append(out, v.(*node))
		return false
	})
	return out
}

// key is the node's key as the v2 API shows it: the root has none.
func (n *node) key() string {
	if n.parent == nil {
		return ""
	}
	return n.path
}

// ttlAt is etcd's expirationAndTTL: the expiration in UTC and the seconds
// left at now, rounded up (a node with 0.2 s left shows 1; one that expired
// 1.5 s ago and is not yet swept shows -1).
func ttlAt(expire, now time.Time) (*time.Time, int64) {
	if expire.IsZero() {
		return nil, 0
	}
	d := expire.Sub(now.Round(0))
	ttl := d / time.Second
	if d%time.Second > 0 {
		ttl++
	}
	t := expire.UTC()
	return &t, int64(ttl)
}

// repr renders n. Children of a dir are included when withChildren is set
// (then recursively only when recursive is set), hidden children never, and
// always in key order: etcd leaves the order to Go's map iteration unless
// sorted=true, and a deterministic store cannot, so sorted is implied.
func (n *node) repr(withChildren, recursive bool, now time.Time) *NodeExtern {
	e := &NodeExtern{Key: n.key(), ModifiedIndex: n.modifiedIndex, CreatedIndex: n.createdIndex}
	if n.parent == nil {
		e.ModifiedIndex, e.CreatedIndex = 0, 0
	}
	e.Expiration, e.TTL = ttlAt(n.expire, now)
	if !n.dir {
		v := n.value
		e.Value = &v
		return e
	}
	e.Dir = true
	if !withChildren {
		return e
	}
	e.Nodes = make([]*NodeExtern, 0, n.children.Len())
	n.children.Walk(func(_ string, v interface{}) bool {
		c := v.(*node)
		if !c.hidden() {
			e.Nodes = append(e.Nodes, c.repr(recursive, recursive, now))
		}
		return false
	})
	return e
}

// expiryKey orders nodes by expiration, then path, in the store's TTL index,
// so that DeleteExpiredKeys expires them in the same order on every member.
// The layout is seconds (sign bit flipped, big-endian), nanoseconds
// (big-endian), path.
func expiryKey(expire time.Time, p string) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(expire.Unix())^(1<<63))
	binary.BigEndian.PutUint32(b[8:], uint32(expire.Nanosecond()))
	return string(b[:]) + p
}
