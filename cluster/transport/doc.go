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
// dialer into Config.RoundTripper and TLS listeners into Serve.
package transport
