// Package wal keeps the durable state of one Raft member: the write-ahead
// log (WAL) of entries, hard states and snapshot marks, and the snapshot
// files (Snapshotter). It imports only the standard library.
//
// # Use
//
// A member that starts for the first time calls Create. A restart loads the
// newest usable snapshot, then opens the log at that snapshot's mark and
// replays what follows:
//
//	marks, err := wal.ValidSnapshotMarks(walDir, opts)
//	mark, data, err := snapshotter.OpenNewestAvailable(marks) // or ErrNoSnapshot: the zero mark
//	// ... read the checked data from data (a stream), then data.Close()
//	w, err := wal.Open(walDir, mark, opts)
//	metadata, hs, ents, err := w.ReadAll()
//
// Then, for every Raft Ready, in this order:
//
//	snapshotter.SaveFrom(mark, size, src); w.SaveSnapshot(mark) // if Ready has a snapshot (or Save of bytes)
//	w.Save(rd.HardState, rd.Entries)                  // durable when it returns
//
// and, after a snapshot taken in the background is saved and recorded,
// w.ReleaseTo(mark.Index) and snapshotter.Release(keep).
//
// # Files
//
// The WAL is a directory of segment files named "%016x-%016x.wal": the
// segment's sequence number (0, 1, 2, ... without gaps) and the index its
// first entry was expected to have (the log's last index + 1 when it was
// created; Raft may overwrite an uncommitted tail, so the first entry in it
// can be lower). Only the last segment is written to. A segment is
// preallocated to Options.SegmentSize, so its tail reads as zeros; when it
// has passed that size, the next Save starts a new one.
//
// Every segment is a sequence of records, each aligned to 8 bytes:
//
//	offset  size  field
//	0       4     length    payload length in bytes, little endian
//	4       1     type      recordType: 1 header, 2 entry, 3 hard state, 4 snapshot mark
//	5       1     flags     bit 0: batch end (the last record of one write+sync)
//	6       2     reserved  zero
//	8       4     hcrc      CRC-32C (Castagnoli) of bytes 0..7
//	12      4     crc       CRC-32C of bytes 0..7 followed by the payload
//	16      n     payload
//	16+n    0..7  padding   zeros, up to the next multiple of 8
//
// hcrc makes the length trustworthy on its own, so a record whose payload is
// damaged still says where the next record starts. crc covers the length,
// type and flags again and the payload. The type 0 is never written: a
// zeroed header is the end of the log. New record types and flags are only
// ever appended; a record with sound checksums and a type or flag this build
// does not know was written by a newer Larch (ErrUnsupportedVersion, not
// corruption).
//
// Payloads, all integers little endian:
//
//	header     version u32 (1), seq u64, prevIndex u64 (= name's index - 1),
//	           hard state (term u64, vote u64, commit u64),
//	           snapshot mark (index u64, term u64), metadata (the rest)
//	entry      index u64, term u64, data (the rest: a marshalled raftpb.Entry)
//	hard state term u64, vote u64, commit u64
//	snapshot   index u64, term u64
//
// The header record opens every segment and repeats the metadata given to
// Create, the HardState and the snapshot mark in force when the segment was
// created. So releasing old segments never loses them, and the replay can
// check that each header agrees with the end of the previous segment, which
// catches a segment that lost records at a record boundary.
//
// A snapshot file, "%016x-%016x.snap" of its mark's index and term:
//
//	0      8  magic    "larchsnp"
//	8      4  version  u32 (1)
//	12     8  index    u64
//	20     8  term     u64
//	28     8  length   u64, of data
//	36     n  data
//	36+n   4  crc      CRC-32C of bytes 0..36+n-1
//
// # Durability
//
// Save encodes the whole batch (entries first, then the hard state, the
// last record flagged batch end) into one buffer, writes it with one pwrite
// into the preallocated tail of the active segment, and calls fdatasync once
// (fsync where there is none). It returns only after fdatasync does, so what
// Save acknowledged survives a crash. Because the blocks are preallocated
// and the file size does not change, fdatasync has no size to journal. (On
// ext4, the first write to a fallocated block still converts its extent; see
// the rejected designs.) The entries precede the hard state in the batch, so
// a hard state that survived implies that the entries before it did.
//
// A new segment is written under a temporary name: preallocate, header,
// fdatasync, rename to its final name, fsync the directory. So a segment
// with a final name always has a sound, durable header, and a crash during
// creation leaves only a temporary file, which Open removes. Create does the
// same for the first segment and also syncs the parent directory.
//
// A failed write or fdatasync makes the WAL unusable: every later append
// returns the same error. After a failed fsync Linux may have marked the
// dirty pages clean, so a retry can "succeed" without writing them; only a
// restart, replaying what is really on disk, is safe.
//
// Snapshotter.Save writes a temporary file, fsyncs it, renames it and fsyncs
// the directory. The snapshot file is written before its mark is recorded
// (SaveSnapshot), so a recorded mark always has its file. A crash in between
// leaves a newer file that the WAL does not know; ValidSnapshotMarks with
// LoadNewestAvailable skip it, and move it aside so Release cannot keep it
// in place of a usable one.
//
// Snapshotter.Receive, which stores a snapshot streamed by a peer, does the
// same with a temporary file named uniquely ("<name>.snap.recv-<random>.tmp"),
// so that neither Save nor another Receive of the same mark writes to it.
// It reads the stream without the Snapshotter's lock, which a stalled
// sender could otherwise hold for minutes; only the rename and the
// directory fsync take it. Load removes the temporary files that a crash
// left, but not those of the Receives in progress.
//
// # Replay, torn tails and corruption
//
// Open picks the last segment created when the log ended at or before the
// mark's index (every later one is needed, no earlier one is), checks that
// the sequence has no gap, and decodes every record of those segments:
// headers must agree with the file names and with the end of the previous
// segment, an entry's index must be at most one past the last index (a
// lower one overwrites the tail read so far, as Raft does), the last hard
// state wins, and the mark (if not zero) must have been recorded. ReadAll
// then hands over the entries after the mark.
//
// Damage is anything that is neither a sound record nor the zeroed end of
// the log: a record cut short, a checksum mismatch, a zeroed header with
// data after it. Where it is found decides what it means. Every batch is
// written only after the previous one's fdatasync returned, so a crash can
// only have damaged the final batch, at the end of the last segment. That
// is a torn write, and Open truncates the log before the damaged record,
// logs a warning with the path and offset, and goes on; the final batch was
// never acknowledged. Damage is torn when it is in the last segment and
//
//   - no sound record follows it (the final write was cut short, or its
//     unwritten sectors read as zeros in the preallocated file), or
//   - the damaged area holds a sector-aligned piece of zeros, the mark of a
//     sector that never reached the disk, and no sound record after it ends
//     a batch except the very last: the kernel wrote the final batch's pages
//     out of order (possible with preallocation) and the crash hit between.
//
// Everything else is corruption, a *CorruptionError naming the file and
// offset (errors.Is ErrCorrupt): damage in a segment that is not the last, a
// bad segment header, a missing segment, a header that disagrees with the
// previous segment, and damage followed by a batch end with records after
// it, which proves the damaged record was durable before a later write. The
// server must stop: truncating there would silently drop acknowledged
// records.
//
// One case cannot be told apart: damage to the records of the final batch
// itself, after Save acknowledged it, looks exactly like a tear (no sound
// record follows, or only the same batch's). Open truncates it with a
// warning. A checksum cannot tell "never written" from "written, then lost"
// without another copy; Raft's other members hold that copy.
//
// # Concurrency
//
// A WAL is safe for concurrent use: one mutex serializes its methods, so a
// background snapshot's SaveSnapshot or ReleaseTo never interleaves with the
// Raft loop's Save. ReleaseTo unlinks files after dropping the mutex, so a
// Save does not wait for a large unlink. The package starts no goroutines.
//
// # Rejected designs
//
//   - A CRC chained from record to record (etcd's WAL). It detects lost or
//     reordered records, but after damage no later record can be checked on
//     its own, and checking the records after damage is how a tear is told
//     from corruption. Loss is caught instead by entry index continuity and
//     by each segment header repeating the state the previous segment ended
//     with.
//   - Torn only if nothing sound follows the damage. A benign crash that
//     persisted the final batch's pages out of order would then stop the
//     server until an operator intervened.
//   - Torn whenever the damaged record holds a zeroed sector, whatever
//     follows (etcd's isTornEntry). A sector lost in acknowledged data
//     would then be truncated away with everything after it. The batch-end
//     flag bounds tears to the final batch.
//   - Appending without preallocation. Each fdatasync then also journals
//     the new size: 145-160 µs against ~105 µs for a 300-byte write+sync on
//     the ext4 disk of the development machine.
//   - Zero-filling segments by writing zeros instead of fallocate. Blocks
//     already written need no extent conversion at fdatasync: BenchmarkSave
//     with 100 entries of 256 bytes took 143-170 µs per Save against
//     197-225 µs with fallocate (single entries: ~105 µs either way). But
//     every segment is then written twice, and creating one takes ~35 ms
//     instead of under 1 ms, a stall in the Save that rolls. The way to
//     have both is a goroutine that prepares the next segment in the
//     background (etcd's filePipeline); it is the first thing to try if
//     the WAL limits write throughput.
//   - Skipping the fdatasync inside Save when only the commit index
//     changed (etcd's raft.MustSync). Save keeps its promise that what it
//     returns from is durable; the caller (package cluster) instead does not
//     call Save for a HardState that only moves Commit, and SaveSnapshot
//     records the mark's index as committed, so a mark stays valid without
//     those HardStates.
//   - Streaming segments through a reader. Reading a whole segment (at most
//     about SegmentSize) into one reused buffer makes the scan after damage
//     simple, and replay happens once per start.
package wal
