// Package cluster is the replicated server core of one Larch member: the
// Raft node, the write-ahead log and snapshots it persists to, the apply
// loop that feeds committed entries to the state machines, linearizable
// reads, and the membership.
//
// # Goroutines
//
// A Server runs eight long-lived goroutines, all started by NewServer and
// stopped and waited for by Stop:
//
//   - runRaft owns the raft.RawNode; other goroutines reach it only through
//     channels (proposals, messages from peers, and commands such as
//     ReadIndex and ApplyConfChange). For each Ready it appends the new
//     entries, with the HardState, to the WAL in one write with one
//     fdatasync, then appends them to the in-memory Raft log, sends
//     messages, hands the committed entries to the apply loop and calls
//     Advance. A leader sends its messages before its own sync, so that the
//     followers' syncs overlap it; everyone else sends only what is durable. Proposals that arrive
//     while a sync is in progress wait in the channel and all go into the
//     next Ready: that is the group commit, and it needs no timer. A
//     HardState that only moves the commit index is not written on its own:
//     the commit index can be learned again from the leader.
//   - runApply is the only goroutine that changes the state machines. It
//     applies entries strictly in log order, hands each result to the
//     proposer waiting for it (waitRegistry), advances the applied index
//     (indexWaiter) and starts snapshots.
//   - runReadIndex serves linearizable reads in rounds: every reader that
//     arrives while a round is in flight joins the next one, and each round
//     costs one ReadIndex, however many readers share it.
//   - publish proposes this member's name and client URLs once, retrying
//     until it lands.
//   - runV2Sync, while this member leads and a v2 node is due to expire,
//     proposes the current time (a v2 SYNC request): every member expires
//     the same nodes at the same index, never by its own clock.
//   - runLeases, while this member leads, keeps the leases' deadlines by
//     its own clock, proposes the revocation of expired leases and, every
//     few minutes, checkpoints their remaining time (lease.go).
//   - runCompactor, with --auto-compaction-mode, proposes compactions while
//     this member leads (compactor.go).
//   - runCorruptCheck, with a corrupt check time, has the leader compare its
//     keyspace hash with its followers' and raise CORRUPT (corrupt.go).
//
// Other goroutines reach the apply loop between two entries through
// applyCalls (applyCall): a backup (Server.Snapshot) and Defragment capture
// the state there, as the loop's own snapshots do, and write it on their
// own goroutine. snapshotSem admits one snapshot writer at a time: the
// apply loop only tries it and skips a snapshot when it is taken, so it
// never waits; Defragment waits for it, and Stop takes it for good after
// the goroutines above have ended, so that a Defragment's write is done
// before the WAL closes.//
// The watcher hub (cluster/watch) has its own catch-up goroutine; the apply
// loop hands it each write's events without ever blocking.
//
// The peer transport (cluster/transport) has goroutines of its own: one
// sender per peer, which never blocks runRaft, and the HTTP handlers that
// hand received messages to runRaft through a channel. The member serves
// its peer listeners with the transport's handlers and some of its own:
// GET /members, which a member joining an existing cluster asks for its
// ID and the cluster's; POST /members/promote/<id>, by which a follower
// hands a promotion to the leader, the only member that knows whether the
// learner has caught up; the lease and join paths; and GET /larch/hashkv,
// a member's keyspace hash at a revision for the corruption checks.
//
// A snapshot goroutine runs while a snapshot is written. The apply loop
// captures the state as copy-on-write views (mvcc.Store.Snapshot) in O(1),
// so it never waits for the encoding or the disk. Snapshots are written and
// read as streams (snapshotPayload, wal.Snapshotter.SaveFrom and
// OpenNewestAvailable): none is ever held in memory next to the state.
//
// # Operations
//
// alarm.go holds the replicated alarms (NOSPACE, CORRUPT), which gate
// writes in the apply loop; maintenance.go backups (StateSnapshot) and
// Defragment; restore.go the offline `snapshot status` and `restore` of a
// backup; backup.go etcdctl v2's offline `backup` of a stopped member.
//
// # Entries
//
// Every normal entry holds an Envelope: a format version, the kind of store
// it is for, and the request (for v3, an etcdserverpb.InternalRaftRequest;
// for v2, an etcdserverpb.Request stamped with the proposer's time).
// Unknown versions or kinds stop the member instead of being skipped, since
// skipping would make this member's state diverge from its peers'.
//
// # Membership
//
// Members join and leave through Raft configuration changes whose context
// is the member's JSON. Every member validates a committed change against
// the membership at that index (unknown or removed IDs, peer URLs in use,
// too many learners) and applies it, or applies it to nobody, in the apply
// loop, before Raft's Advance. The membership, the removed IDs and Raft's
// configuration are in every snapshot. A change that could cost the quorum
// is refused before it is proposed, as etcd's --strict-reconfig-check does.
// A member removed from the cluster stops itself (Fatal reports
// ErrRemoved) a few ticks later, so that as the leader it can still tell
// the others the change committed.
//
// A lagging follower whose entries the leader compacted away gets the
// leader's snapshot file over the transport, checked as it is written;
// runRaft records its mark in the WAL and the apply loop restores it in
// place, before any later entry.
//
// # Durability
//
// A write is acknowledged only after the apply loop applied it, and it is
// applied only after it was committed, which on every member (a single one
// included) happens only after the entry was fdatasync'ed to the WAL. On
// restart the newest snapshot whose mark the WAL recorded is loaded and the
// WAL replayed from it; the client port opens only once the member has
// published itself again (ReadyNotify), which is applied after every older
// entry, so no read is served from a state that misses an acknowledged write.
// The bootstrap entries are written before NewServer returns.
//
// Rejected designs: raft.Node (its goroutine costs two hand-offs per write
// and hides the batching), applying entries on the raft goroutine (a slow
// apply would delay heartbeats and the next sync), and a mutex-protected
// store shared by proposers (apply order must be log order, which only one
// goroutine gives for free).
package cluster
