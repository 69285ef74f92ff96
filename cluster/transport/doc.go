// Package transport carries Raft messages and snapshots between the members
// of a cluster, over HTTP on their peer URLs.
//
// # Streams
//
// Each peer has one goroutine and one bounded queue. Send only enqueues: it
// never blocks, so a slow or dead peer cannot hold up the Raft loop or the
// other peers. When the queue is full the message is dropped and the peer
// reported unreachable to Raft, which then probes it instead of streaming to
// it; Raft retransmits whatever matters.
//
// The peer goroutine keeps one long-lived POST to the peer's /raft/stream
// open and writes length-prefixed raftpb.Messages into its body, batching
// everything queued since the last write into one chunk. The receiving
// handler answers 200 at once (full duplex), then reads frames and hands
// them to its Raft node; when the node is busy the handler stops reading,
// and TCP pushes back on the sender. A broken stream is reopened on the
// next message after a short back-off; messages that find no stream are
// dropped and reported as above.
//
// # Snapshots
//
// A MsgSnap never goes into the stream. It is sent by its own goroutine as
// one POST to /raft/snapshot: the message frame, then the snapshot file as
// it is on disk (Snapshots.Open). The receiver writes the body to its own
// snapshot file, checking the file's header, length and checksum as it
// goes (Snapshots.Receive), and only then gives the MsgSnap to Raft. Neither
// side holds the snapshot in memory. The outcome is reported to Raft with
// ReportSnapshot.
//
// One snapshot at a time goes to a peer. Raft sends another MsgSnap
// whenever a rejection sends the follower back to probing, possibly before
// the first transfer ended; that one is reported failed at once, and Raft
// probes again later (by then the first has often landed). A MsgSnap to a
// peer the transport does not know is reported failed too: Raft keeps the
// follower waiting for a snapshot until it hears how the last one ended.
//
// A transfer fails when it moves no byte for Config.SnapshotStall (10 s):
// the receiver pushes a read deadline forward before each read of the body
// (http.ResponseController), and the sender's connections, which carry
// nothing but snapshots, push a write deadline forward as each write makes
// progress. Without them a peer that goes silent mid-transfer (a power
// loss, a partition with no reset) is noticed only by TCP keep-alives or
// retransmission timeouts, minutes later, and Raft meanwhile keeps the
// follower waiting for the snapshot. A deadline on the whole transfer was
// rejected: a large snapshot on a slow link is not a dead peer.
//
// # Goroutines
//
// Every goroutine has an owner that stops it and waits for it. The
// Transport owns the peers' run goroutines, the servers' Serve loops and
// the handlers. http.Server.Close does not wait for handlers, so a
// snapshot handler, and a stream handler once it has hijacked its
// connection, counts itself in the Transport's WaitGroup (the stream
// handler also records its connection for Stop to close), and a stopped
// Transport refuses new ones: once Stop returns, nothing writes to the
// member's snapshot directory. A snapshot handler stops reading when the
// Transport stops, so Stop does not wait for the rest of a transfer. A
// peer owns its snapshot sender and the reader of each stream it opened
// (which notices the other side closing); stopping the peer cancels its
// context, which ends run, closes the stream and aborts the POST, and then
// waits for both.
//
// # Identity
//
// Every request carries the sender's member ID, the receiver's and the
// cluster ID. A receiver refuses a request for another cluster or another
// member with 412 Precondition Failed, and one from a member removed from
// the cluster with 410 Gone; the sender logs why, and a member told it was
// removed learns it through Config.OnRemoved.
//
// Rejected designs: one HTTP request per message (a round trip and headers
// per heartbeat), and gRPC streams (a second RPC stack on the peer port
// that etcd's peers do not speak either). HTTPS arrives by plugging a TLS
// dialer into Config.DialTLS (used for https:// peer URLs only) and TLS
// listeners into Serve.
package transport
