package tree

import "time"

// Event actions, as etcd spells them on the wire.
const (
	ActionGet              = "get"
	ActionCreate           = "create"
	ActionSet              = "set"
	ActionUpdate           = "update"
	ActionDelete           = "delete"
	ActionCompareAndSwap   = "compareAndSwap"
	ActionCompareAndDelete = "compareAndDelete"
	ActionExpire           = "expire"
)

// Event is the result of an operation and what watchers receive. Its JSON
// is etcd's v2 response body: {"action":…,"node":{…},"prevNode":{…}}.
//
// Events returned by writes are also kept in the event history and handed
// to watchers: treat them as read-only and Clone one before changing it
// (for example to drop Node for noValueOnSuccess).
type Event struct {
	Action   string      `json:"action"`
	Node     *NodeExtern `json:"node,omitempty"`
	PrevNode *NodeExtern `json:"prevNode,omitempty"`
	// EtcdIndex is the X-Etcd-Index to answer with: the store index after a
	// write, the current index for a get, and for an event a watch found in
	// the history, the store index when the watch began.
	EtcdIndex uint64 `json:"-"`
	// Refresh marks a TTL refresh. Such events take an index and sit in the
	// history, but no watcher sees them. Never serialized, as in etcd (whose
	// HTTP layer clones the event without it).
	Refresh bool `json:"-"`
}

// Index is the store index at which the event happened.
func (e *Event) Index() uint64 { return e.Node.ModifiedIndex }

// IsCreated reports whether the event created its node: a create, or a set
// that replaced nothing. The v2 API answers 201 for these, 200 otherwise.
func (e *Event) IsCreated() bool {
	return e.Action == ActionCreate || (e.Action == ActionSet && e.PrevNode == nil)
}

// Clone returns a deep copy of e without the Refresh mark (as etcd's).
func (e *Event) Clone() *Event {
	return &Event{Action: e.Action, Node: e.Node.Clone(), PrevNode: e.PrevNode.Clone(), EtcdIndex: e.EtcdIndex}
}

// NodeExtern is a node as the v2 API shows it. Field order and omitempty
// rules give etcd's JSON exactly: the root has no key and no indexes, a file
// always has "value" (even ""), "ttl" is left out when it is 0.
type NodeExtern struct {
	Key           string        `json:"key,omitempty"`
	Value         *string       `json:"value,omitempty"`
	Dir           bool          `json:"dir,omitempty"`
	Expiration    *time.Time    `json:"expiration,omitempty"`
	TTL           int64         `json:"ttl,omitempty"`
	Nodes         []*NodeExtern `json:"nodes,omitempty"`
	ModifiedIndex uint64        `json:"modifiedIndex,omitempty"`
	CreatedIndex  uint64        `json:"createdIndex,omitempty"`
}

// Clone returns a deep copy of n (nil for nil).
func (n *NodeExtern) Clone() *NodeExtern {
	if n == nil {
		return nil
	}
	c := *n
	if n.Value != nil {
		v := *n.Value
		c.Value = &v
	}
	if n.Expiration != nil {
		t := *n.Expiration
		c.Expiration = &t
	}
	if n.Nodes != nil {
		c.Nodes = make([]*NodeExtern, len(n.Nodes))
		for i, child := range n.Nodes {
			c.Nodes[i] = child.Clone()
		}
	}
	return &c
}

// TTLOptions carries a write's expiry. The leader computes ExpireTime
// (receive time + ttl) and replicates it, so every member stores the same
// absolute time.
type TTLOptions struct {
	// ExpireTime is when the node expires; zero means permanent.
	ExpireTime time.Time
	// Refresh keeps the node's value and notifies no watcher (refresh=true).
	Refresh bool
}
