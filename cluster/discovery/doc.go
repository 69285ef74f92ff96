// Package discovery owns discovery-token bootstrap: members that share a
// token and one seed address find each other over gossip
// (hashicorp/memberlist) and agree on an initial cluster, with no
// --initial-cluster and no outside service; a member arriving after the
// cluster formed finds it the same way and joins it.
//
// # The pool
//
// Every member started with --discovery-token is a node of one memberlist
// pool, its traffic encrypted and authenticated with an AES-256 key derived
// from the token (GossipKey): a member without the token can neither read
// the pool nor join it. Each node gossips a small Meta: its name, peer and
// client URLs, its --discovery-size, its Phase and the hash of the initial
// cluster it proposes or started with.
//
// # Agreeing on an initial cluster
//
// decide is a pure function of a member's view of the pool. Once Size
// bootstrapping members are in view, and the view has held still for
// Config.Settle, the Size members with the smallest names are the initial
// cluster; a member publishes that set's hash (PhaseProposed) and starts
// only when every member of the set publishes the same hash, or one of
// them already started with it. So no member starts a cluster its peers
// do not: if views differ for a moment, the hashes differ and everyone
// waits. The same set gives the same --initial-cluster-token
// (ClusterToken) and member list, hence the same cluster ID, everywhere.
// Members beyond Size at bootstrap get ErrClusterFull; members given the
// same name, ErrDuplicateName; different sizes, ErrSizeMismatch; seeds
// of another token, ErrTokenMismatch; and a timeout says who was seen and
// how many are missing.
//
// A pool whose members have started (PhaseStarted) is a running cluster:
// a newcomer not in its set gets Result.Running and joins through those
// members (as a learner; the cluster package adds and promotes it).
//
// # Goroutines
//
// memberlist runs its own (gossip, probes, TCP and UDP listeners); the
// event delegate only wakes Bootstrap through a one-slot channel, never
// blocking memberlist. joinLoop retries the seeds until one answers, so
// members may start in any order and a seed may start last. While
// Bootstrap waits, pullLoop exchanges the whole state with one member at
// a time, so a gossip message that missed a member (gossip reaches
// everyone only with high probability) costs a few pulls, not
// memberlist's 30 s anti-entropy period. Close stops them and leaves the
// pool.
//
// A metadata update memberlist drops (an UpdateNode overtaken by a
// refutation, see setMeta) is gossiped again until memberlist reports
// holding it: a proposal lost that way would leave the set's other
// members waiting until their timeout.
//
// Rejected: a rendezvous on the first seed (a single point that must
// start first), and agreeing through Raft itself (there is no cluster to
// run it on yet). Gossip alone cannot give consensus when more than Size
// members race; the proposal barrier makes a wrong start need views that
// disagree at the very moment every member of a set agrees, and that
// can only happen when more members than Size bootstrap at once.
package discovery
