package io.quorumlab.wal;

import io.quorumlab.wal.WalFormat.SegmentName;
import io.quorumlab.wal.storage.WalStorage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Offline inspection and repair, behind {@code quorumlab wal verify|repair --wal-dir}.
 *
 * <p>{@link #verify} never writes. {@link #repair} keeps the longest valid prefix of the log:
 * everything from the first bad frame on is moved to {@code .broken} files (never destroyed), and
 * later segments are renamed aside. Repair can lose acknowledged records, which is why open never
 * does it on its own for damage that is not a torn tail.
 */
public final class WalVerifier {

    private WalVerifier() {
    }

    public enum Status { OK, TORN_TAIL, CORRUPT }

    /** One segment as verify saw it. {@code firstEntry}/{@code lastEntry} are -1 without entries. */
    public record SegmentReport(String file, long size, long validBytes, long headerBytes, int records, long entries,
                                long firstEntry, long lastEntry, Status status, long badOffset, String reason) {
    }

    /** The whole directory. {@code problem} is the first bad segment, or null when OK. */
    public record Report(String dir, List<SegmentReport> segments, Status status, SegmentReport problem,
                         HardState hardState, SnapshotMarker lastSnapshot, long lastIndex) {

        /** A few lines an operator can read; the CLI prints this (or the record as JSON). */
        public String summary() {
            StringBuilder sb = new StringBuilder();
            sb.append("wal ").append(dir).append(": ").append(status).append('\n');
            for (SegmentReport s : segments) {
                sb.append(String.format("  %s size=%d valid=%d records=%d entries=%d [%d..%d] %s%s%n",
                        s.file(), s.size(), s.validBytes(), s.records(), s.entries(), s.firstEntry(), s.lastEntry(),
                        s.status(), s.reason() == null ? "" : " at offset " + s.badOffset() + ": " + s.reason()));
            }
            sb.append("  hard-state=").append(hardState).append(" last-snapshot=").append(lastSnapshot)
                    .append(" last-index=").append(lastIndex).append('\n');
            return sb.toString();
        }
    }

    /** What repair did. {@code moved} lists files created or renamed to {@code .broken}. */
    public record RepairReport(boolean changed, List<String> actions, Report before, Report after) {
    }

    public static Report verify(WalStorage storage) throws IOException {
        String dir = storage.describe();
        List<SegmentName> segs;
        try {
            segs = SegmentFiles.list(storage);
        } catch (WalCorruptException e) {
            SegmentReport bad = new SegmentReport(e.file(), 0, 0, 0, 0, 0, -1, -1, Status.CORRUPT, e.offset(), e.reason());
            return new Report(dir, List.of(bad), Status.CORRUPT, bad, HardState.EMPTY, null, -1);
        }
        if (segs.isEmpty()) {
            throw new WalException("no wal segments in " + dir);
        }
        Replay replay = new Replay(null, segs.get(0).seq() == 0);
        SegmentDecoder decoder = new SegmentDecoder();
        List<SegmentReport> out = new ArrayList<>();
        SegmentReport problem = null;
        long prevCrc = SegmentDecoder.UNKNOWN_CRC;
        for (int i = 0; i < segs.size(); i++) {
            String name = segs.get(i).fileName();
            byte[] bytes = SegmentFiles.read(storage, name);
            long[] ents = {0, -1, -1, 0};
            SegmentDecoder.Result res;
            String replayError = null;
            long replayOffset = -1;
            try {
                res = decoder.scan(bytes, segs.get(i).seq(), prevCrc, SegmentFiles.nextChain(storage, segs, i),
                        i == segs.size() - 1, (rec, off) -> {
                    if (rec instanceof WalEntry e) {
                        ents[0]++;
                        if (ents[1] < 0) {
                            ents[1] = e.index();
                        }
                        ents[2] = e.index();
                    }
                    if (rec instanceof WalMetadata m && ents[3] == 0) {
                        ents[3] = off + WalFormat.frameBytes(m.data().length);
                    }
                    replay.accept(rec, off);
                });
            } catch (Replay.Bad b) {
                res = null;
                replayError = b.getMessage();
                replayOffset = b.offset;
            }
            SegmentReport sr;
            if (res == null) {
                sr = new SegmentReport(name, bytes.length, replayOffset, ents[3], 0, ents[0], ents[1], ents[2], Status.CORRUPT,
                        replayOffset, replayError);
            } else {
                Status st = switch (res.outcome()) {
                    case CLEAN -> Status.OK;
                    case TORN -> Status.TORN_TAIL;
                    case CORRUPT -> Status.CORRUPT;
                };
                sr = new SegmentReport(name, bytes.length, res.validEnd(), ents[3], res.records(), ents[0], ents[1], ents[2],
                        st, res.badOffset(), res.reason());
                prevCrc = res.endCrc() & 0xFFFFFFFFL;
            }
            out.add(sr);
            if (sr.status() != Status.OK) {
                problem = sr;
                break; // the chain is broken: later segments cannot be checked against it
            }
        }
        Status status = problem == null ? Status.OK : problem.status();
        return new Report(dir, List.copyOf(out), status, problem, replay.hardState, replay.baseMarker,
                replay.lastIndex());
    }

    /**
     * Cuts the log back to its valid prefix. Idempotent: a healthy WAL is left untouched. If the
     * damage is inside a segment's header the whole segment goes aside, and if that leaves no
     * segment with metadata the repair fails rather than invent one.
     */
    public static RepairReport repair(WalStorage storage) throws IOException {
        Report before = verify(storage);
        if (before.status() == Status.OK) {
            return new RepairReport(false, List.of(), before, before);
        }
        List<String> actions = new ArrayList<>();
        List<SegmentName> all = new ArrayList<>();
        for (String n : storage.list()) {
            SegmentName s = SegmentName.parse(n);
            if (s != null) {
                all.add(s);
            }
        }
        all.sort(null);
        SegmentReport bad = before.problem();
        int badIdx = -1;
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).fileName().equals(bad.file())) {
                badIdx = i;
            }
        }
        if (badIdx < 0) {
            throw new WalException("cannot repair " + before.dir() + ": " + bad.reason());
        }
        // Segments after the damage are unreachable through the broken chain: set them aside.
        for (int i = all.size() - 1; i > badIdx; i--) {
            String n = all.get(i).fileName();
            String to = brokenName(storage, n);
            storage.rename(n, to);
            actions.add("moved " + n + " to " + to);
        }
        String name = bad.file();
        byte[] bytes = SegmentFiles.read(storage, name);
        // A segment must keep its crc and metadata records to stay a segment.
        long keep = bad.headerBytes() > 0 && bad.validBytes() >= bad.headerBytes() ? bad.validBytes() : 0;
        int end = SegmentDecoder.lastNonZeroEnd(bytes, (int) keep);
        if (bad.status() == Status.TORN_TAIL) {
            // A torn tail owns only its bad frame; in a recycled segment the bytes after it are the
            // file's previous lives (version 0: zeros, so this is the same end as above).
            SegmentDecoder.Result torn = new SegmentDecoder().scan(bytes, all.get(badIdx).seq(),
                    SegmentDecoder.UNKNOWN_CRC, true, (rec, off) -> { });
            end = (int) Math.max(keep, Math.min(end, torn.damagedEnd()));
        }
        if (keep == 0) {
            if (badIdx == 0) {
                throw new WalException("cannot repair " + before.dir() + ": the first segment " + name
                        + " has no valid header (" + bad.reason() + " at offset " + bad.badOffset() + ")");
            }
            String to = brokenName(storage, name);
            storage.rename(name, to);
            actions.add("moved " + name + " (no valid header) to " + to);
        } else if (end > keep) {
            String broken = SegmentFiles.saveBroken(storage, name, bytes, (int) keep, end);
            SegmentFiles.zeroFill(storage, name, keep, end);
            actions.add("saved " + (end - keep) + " bytes of " + name + " from offset " + keep + " to " + broken
                    + " and zero-filled them");
        }
        storage.fsyncDir();
        Report after = verify(storage);
        if (after.status() == Status.CORRUPT) {
            throw new WalException("repair did not converge; wal still corrupt:\n" + after.summary());
        }
        return new RepairReport(true, List.copyOf(actions), before, after);
    }

    private static String brokenName(WalStorage storage, String name) throws IOException {
        String to = name + WalFormat.BROKEN_SUFFIX;
        for (int i = 1; storage.exists(to); i++) {
            to = name + WalFormat.BROKEN_SUFFIX + "." + i;
        }
        return to;
    }
}
