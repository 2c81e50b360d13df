package io.quorumlab.raft;

import java.util.List;

/**
 * What the application must do next, in this order of obligations:
 * <ol>
 *   <li>persist {@code hardState}, {@code entries} and {@code snapshot} (fsync when {@code mustSync});</li>
 *   <li>send {@code messages} — a leader may send before persisting (thesis §10.2.1), a follower only
 *       after, because its responses promise durability;</li>
 *   <li>apply {@code committedEntries} (and conf changes via {@link RawNode#applyConfChange});</li>
 *   <li>serve reads whose {@code readStates} index has been applied;</li>
 *   <li>call {@link RawNode#advance(Ready)}.</li>
 * </ol>
 *
 * @param softState null when unchanged since the last Ready
 * @param hardState null when unchanged since the last Ready
 * @param snapshot null when there is no snapshot to install
 */
public record Ready(
        SoftState softState,
        HardState hardState,
        List<Entry> entries,
        Snapshot snapshot,
        List<Entry> committedEntries,
        List<Message> messages,
        List<ReadState> readStates,
        boolean mustSync) {

    public boolean containsUpdates() {
        return softState != null || hardState != null || !entries.isEmpty() || snapshot != null
                || !committedEntries.isEmpty() || !messages.isEmpty() || !readStates.isEmpty();
    }
}
